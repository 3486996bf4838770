package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"golang.org/x/mod/sumdb/tlog"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/recordbin"
	"github.com/degreegate/degreegate/translog"
)

// TestLogCatchesTheDatabaseOwner: serve signs checkpoints of the log
// over the trail and keeps them outside PostgreSQL; whoever owns the
// tables, but holds neither the log's keys nor its checkpoints, then
// edits and re-chains the trail, removes and renumbers an entry, swaps
// two, or cuts the tail — rebuilding the log's stored hashes and head to
// match each time — and `audit verify --checkpoint` catches and names
// every one.
func TestLogCatchesTheDatabaseOwner(t *testing.T) {
	f := newServeFixture(t, 40)
	dir := t.TempDir()
	rep := f.start(t, []string{"DEGREEGATE_POLICY=" + relaxedPolicy(t, dir)})
	var receipt string
	for i, rec := range f.records[:30] {
		if i%3 == 2 {
			rec.Name = "无此人"
		}
		code, a, _, err := verifyOn(rep.base, rec)
		if err != nil || code != 200 {
			t.Fatalf("verify: %d %v", code, err)
		}
		if a.Receipt != "" {
			receipt = a.Receipt
		}
	}
	ctx := context.Background()
	var seq int64
	if err := f.conn.QueryRow(ctx, `SELECT seq FROM audit_head`).Scan(&seq); err != nil {
		t.Fatal(err)
	}
	keys := filepath.Join(envValue(f.env, "DEGREEGATE_KEYS_DIR"))
	v, _, err := registry.LoadLogVerifier(filepath.Join(keys, registry.LogVerifierFile))
	if err != nil {
		t.Fatal(err)
	}
	// A checkpoint covering every entry, signed within a few seconds.
	deadline := time.Now().Add(10 * time.Second)
	var newest translog.Checkpoint
	for {
		resp, err := client.Get(rep.base + "/v1/log/checkpoint")
		if err != nil {
			t.Fatal(err)
		}
		note, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if newest, err = v.Open(note); err == nil && newest.Size == seq {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no checkpoint of %d entries within 10 s: %d %s", seq, resp.StatusCode, note)
		}
		time.Sleep(200 * time.Millisecond)
	}
	checkProofsIndependently(t, rep.base, newest)
	checkReceipt(t, &f.tr, rep.base, receipt, filepath.Join(keys, registry.LogVerifierFile))
	witness := filepath.Join(dir, "witness")
	vkey := filepath.Join(keys, registry.LogVerifierFile)
	if r := f.tr.run(t, nil, "log", "witness", "--url", rep.base, "--state", witness, "--log-key", vkey); r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("%d entries", seq)) {
		t.Fatalf("log witness: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	if err := rep.stop(t); err != nil {
		t.Fatalf("serve: %v", err)
	}
	checkpoints := envValue(f.env, "DEGREEGATE_CHECKPOINTS_DIR")
	for _, kept := range []string{checkpoints, witness, filepath.Join(witness, "latest.checkpoint")} {
		r := f.tr.run(t, f.env, "audit", "verify", "--checkpoint", kept)
		if r.code != 0 || !strings.Contains(r.stdout, "kept outside the database") {
			t.Fatalf("audit verify --checkpoint %s of an untouched trail: exit %d %s %s", kept, r.code, r.stdout, r.stderr)
		}
	}

	entries, leaves := readTrail(t, f.conn)
	if int64(len(entries)) != seq || len(leaves) != len(entries) {
		t.Fatalf("%d entries, %d leaves, head %d", len(entries), len(leaves), seq)
	}
	n := len(entries)
	tests := []struct {
		name   string
		forge  func() ([]registry.AuditEntry, []tlog.Hash)
		output string
	}{
		{"an entry edited, the trail re-chained", func() ([]registry.AuditEntry, []tlog.Hash) {
			es := clone(entries)
			es[n-10].Purpose = "a purpose the caller never gave"
			return es, leaves
		}, fmt.Sprintf("first bad entry %d: is not the entry the log holds", n-9)},
		{"an entry removed, the rest renumbered, the log rebuilt from its leaves", func() ([]registry.AuditEntry, []tlog.Hash) {
			k := n - 12
			return append(clone(entries[:k]), entries[k+1:]...), append(clone(leaves[:k]), leaves[k+1:]...)
		}, fmt.Sprintf("trail ends at %d but a checkpoint kept outside the database covers %d entries", n-1, n)},
		{"two entries swapped, the log rebuilt", func() ([]registry.AuditEntry, []tlog.Hash) {
			es, ls := clone(entries), clone(leaves)
			es[n-5], es[n-4] = es[n-4], es[n-5]
			ls[n-5], ls[n-4] = ls[n-4], ls[n-5]
			return es, ls
		}, fmt.Sprintf("do not make the tree of the checkpoint of %d", n)},
		{"the tail cut, the head rewound", func() ([]registry.AuditEntry, []tlog.Hash) {
			return entries[:n-6], leaves[:n-6]
		}, fmt.Sprintf("trail ends at %d but a checkpoint kept outside the database covers %d entries", n-6, n)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			es, ls := tc.forge()
			rewriteTrail(t, f.conn, es, ls)
			t.Cleanup(func() { rewriteTrail(t, f.conn, entries, leaves) })
			if r := f.tr.run(t, f.env, "audit", "verify"); r.code == 0 && !strings.Contains(tc.name, "edited") {
				// The forgery is consistent in the database alone: only
				// what is kept outside it can tell.
				t.Logf("without a checkpoint: %s", strings.TrimSpace(r.stdout))
			}
			for _, kept := range []string{checkpoints, witness} {
				r := f.tr.run(t, f.env, "audit", "verify", "--checkpoint", kept)
				if r.code != 1 || !strings.Contains(r.stdout, "TAMPERED") || !strings.Contains(r.stdout, tc.output) {
					t.Fatalf("audit verify --checkpoint %s: exit %d\n%s%s\nwant it to say %q", kept, r.code, r.stdout, r.stderr, tc.output)
				}
			}
		})
	}
	r := f.tr.run(t, f.env, "audit", "verify", "--checkpoint", checkpoints)
	if r.code != 0 {
		t.Fatalf("after restoring the trail: exit %d %s", r.code, r.stdout)
	}
	catchRewrittenVersions(t, f, checkpoints, entries, leaves)
	assertNoPersonalData(t, f.tr.String(), f.records)
}

// catchRewrittenVersions: every filed record version is a leaf of the
// log, through its filing entry; the tables' owner edits a version's
// record or its filer, adds a version, removes one, or edits a version
// and its filing entry and re-chains the trail — and `audit verify`
// names each.
func catchRewrittenVersions(t *testing.T, f *serveFixture, checkpoints string, entries []registry.AuditEntry, leaves []tlog.Hash) {
	ctx := context.Background()
	cert := f.records[7].CertificateNumber
	if _, err := f.conn.Exec(ctx, `CREATE TEMP TABLE kept_versions AS SELECT * FROM record_versions WHERE certificate_number = $1`, cert); err != nil {
		t.Fatal(err)
	}
	var filedAt int64
	for i := range entries {
		if ref, _, ok := registry.FiledVersion(&entries[i]); ok && ref.CertificateNumber == cert {
			filedAt = int64(i) + 1
		}
	}
	if filedAt == 0 {
		t.Fatalf("no entry of the trail files record %d", 7)
	}
	owner := func(stmts ...string) {
		t.Helper()
		err := pgx.BeginFunc(ctx, f.conn, func(tx pgx.Tx) error {
			for _, stmt := range append(append([]string{`ALTER TABLE record_versions DISABLE TRIGGER USER`}, stmts...), `ALTER TABLE record_versions ENABLE TRIGGER USER`) {
				if _, err := tx.Exec(ctx, stmt, pgx.QueryExecModeSimpleProtocol); err != nil {
					return fmt.Errorf("%s: %w", stmt, err)
				}
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	quoted := "'" + cert + "'"
	// The record as the owner would rewrite it: another name in the body.
	var body []byte
	if err := f.conn.QueryRow(ctx, `SELECT body FROM record_versions WHERE certificate_number = $1`, cert).Scan(&body); err != nil {
		t.Fatal(err)
	}
	var rec registry.Record
	if err := recordbin.DecodeRecord(body, &rec); err != nil {
		t.Fatal(err)
	}
	rec.Name = "王伪造"
	forged := fmt.Sprintf(`'\x%x'`, recordbin.AppendRecord(nil, &rec))
	for _, tc := range []struct {
		name   string
		forge  []string
		trail  func() []registry.AuditEntry // the trail rewritten too, re-chained over the same leaves
		output string
	}{
		{"a version's record rewritten", []string{`UPDATE record_versions SET body = ` + forged + ` WHERE certificate_number = ` + quoted}, nil,
			fmt.Sprintf("audit entry %d: record version 1 of certificate %s: not the version this entry filed", filedAt, cert)},
		{"a version's filer rewritten", []string{`UPDATE record_versions SET actor = 'office:someone else' WHERE certificate_number = ` + quoted}, nil,
			fmt.Sprintf("audit entry %d: record version 1 of certificate %s: not the version this entry filed", filedAt, cert)},
		{"a version's indexed status rewritten", []string{`UPDATE record_versions SET status = CASE WHEN status = 'revoked' THEN 'filed' ELSE 'revoked' END WHERE certificate_number = ` + quoted}, nil,
			fmt.Sprintf("record version 1 of certificate %s: its indexed columns (status) disagree with its record", cert)},
		{"a version added", []string{`INSERT INTO record_versions SELECT certificate_number, 2, kind, unit_code, degree_level, conferral_year, status, person_index, key_id, secret, digest, ` + forged +
			`, actor, 'a revocation no one filed', changed_at FROM kept_versions`}, nil,
			fmt.Sprintf("record version 2 of certificate %s: no entry of the trail filed it", cert)},
		{"a version removed", []string{`DELETE FROM record_versions WHERE certificate_number = ` + quoted}, nil,
			fmt.Sprintf("audit entry %d: record version 1 of certificate %s: filed by this entry but no longer stored", filedAt, cert)},
		{"a version rewritten with its filing entry, the trail re-chained", []string{`UPDATE record_versions SET body = ` + forged + ` WHERE certificate_number = ` + quoted},
			func() []registry.AuditEntry {
				rows, _ := f.conn.Query(ctx, `SELECT body, key_id, secret, person_index, digest, actor, reason, changed_at FROM record_versions WHERE certificate_number = $1`, cert)
				vs, err := pgx.CollectRows(rows,
					func(r pgx.CollectableRow) (registry.Version, error) {
						var v registry.Version
						var b []byte
						if err := r.Scan(&b, &v.KeyID, &v.Secret, &v.PersonIndex, &v.Digest, &v.Change.Actor, &v.Change.Reason, &v.Change.At); err != nil {
							return v, err
						}
						v.Version = 1
						return v, recordbin.DecodeRecord(b, &v.Record)
					})
				if err != nil || len(vs) != 1 {
					t.Fatalf("read the forged version: %v", err)
				}
				d := registry.VersionDigest(&vs[0])
				es := clone(entries)
				es[filedAt-1].Detail = fmt.Sprintf(`{"version":1,"sha256":"%x"}`, d)
				return es
			},
			fmt.Sprintf("first bad entry %d: is not the entry the log holds", filedAt)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			owner(tc.forge...)
			if tc.trail != nil {
				rewriteTrail(t, f.conn, tc.trail(), leaves)
				t.Cleanup(func() { rewriteTrail(t, f.conn, entries, leaves) })
			}
			t.Cleanup(func() {
				owner(`DELETE FROM record_versions WHERE certificate_number = `+quoted, `INSERT INTO record_versions SELECT * FROM kept_versions`)
			})
			r := f.tr.run(t, f.env, "audit", "verify", "--checkpoint", checkpoints)
			if r.code != 1 || !strings.Contains(r.stdout, "TAMPERED") || !strings.Contains(r.stdout, tc.output) {
				t.Fatalf("audit verify: exit %d\n%s%s\nwant it to say %q", r.code, r.stdout, r.stderr, tc.output)
			}
		})
	}
	if r := f.tr.run(t, f.env, "audit", "verify", "--checkpoint", checkpoints); r.code != 0 || !strings.Contains(r.stdout, "every record version is the one its entry filed") {
		t.Fatalf("after restoring the versions: exit %d %s", r.code, r.stdout)
	}
}

func envValue(env []string, name string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, name+"="); ok {
			return v
		}
	}
	return ""
}

func clone[T any](s []T) []T { return append([]T(nil), s...) }

// readTrail reads the trail's entries and the log's leaf hashes.
func readTrail(t *testing.T, conn *pgx.Conn) ([]registry.AuditEntry, []tlog.Hash) {
	t.Helper()
	ctx := context.Background()
	rows, _ := conn.Query(ctx, `SELECT at, actor, action, record_ref, purpose, detail FROM audit_entries ORDER BY seq`)
	entries, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (registry.AuditEntry, error) {
		var e registry.AuditEntry
		err := r.Scan(&e.At, &e.Actor, &e.Action, &e.RecordRef, &e.Purpose, &e.Detail)
		return e, err
	})
	if err != nil {
		t.Fatal(err)
	}
	rows, _ = conn.Query(ctx, `SELECT substring(hashes from 1 for 32) FROM log_nodes ORDER BY leaf`)
	leaves, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (tlog.Hash, error) {
		var b []byte
		err := r.Scan(&b)
		return tlog.Hash(b), err
	})
	if err != nil {
		t.Fatal(err)
	}
	return entries, leaves
}

// rewriteTrail does what the tables' owner can without the keys: turn
// the append-only triggers off, replace the trail by entries, re-chained,
// and the log by a tree over leaves (hashes it read from the log, since
// it cannot make a leaf for an entry of its own), with a head naming
// both.
func rewriteTrail(t *testing.T, conn *pgx.Conn, entries []registry.AuditEntry, leaves []tlog.Hash) {
	t.Helper()
	ctx := context.Background()
	head := registry.ChainHead{Hash: registry.GenesisHash}
	linked := clone(entries)
	for i := range linked {
		head = registry.Link(head, &linked[i])
	}
	stored, edge, err := translog.EmptyEdge().Append(leaves)
	if err != nil {
		t.Fatal(err)
	}
	var nodeLeaves []int64
	var nodes [][]byte
	at := 0
	for i := range leaves {
		k := int(tlog.StoredHashCount(int64(i)+1) - tlog.StoredHashCount(int64(i)))
		var row []byte
		for _, h := range stored[at : at+k] {
			row = append(row, h[:]...)
		}
		nodeLeaves, nodes, at = append(nodeLeaves, int64(i)), append(nodes, row), at+k
	}
	root := edge.Root()
	err = pgx.BeginFunc(ctx, conn, func(tx pgx.Tx) error {
		for _, stmt := range []string{
			`ALTER TABLE audit_entries DISABLE TRIGGER USER`, `ALTER TABLE log_nodes DISABLE TRIGGER USER`, `ALTER TABLE audit_head DISABLE TRIGGER USER`,
			`DELETE FROM audit_entries`, `DELETE FROM log_nodes`,
		} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return fmt.Errorf("%s: %w", stmt, err)
			}
		}
		for _, e := range linked {
			if _, err := tx.Exec(ctx, `INSERT INTO audit_entries (seq, at, actor, action, record_ref, purpose, detail, prev_hash, hash)
				VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, e.Seq, e.At, e.Actor, e.Action, e.RecordRef, e.Purpose, e.Detail, e.PrevHash, e.Hash); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO log_nodes SELECT * FROM unnest($1::bigint[], $2::bytea[])`, nodeLeaves, nodes); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `UPDATE audit_head SET seq = $1, hash = $2, log_size = $3, log_root = $4`, head.Seq, head.Hash, edge.Size(), root[:]); err != nil {
			return err
		}
		for _, stmt := range []string{`ALTER TABLE audit_entries ENABLE TRIGGER USER`, `ALTER TABLE log_nodes ENABLE TRIGGER USER`, `ALTER TABLE audit_head ENABLE TRIGGER USER`} {
			if _, err := tx.Exec(ctx, stmt); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatalf("rewrite the trail as its owner: %v", err)
	}
}

// TestLogWitnessCatchesAFork: a log that signs two different trees of
// one size, or a smaller tree than before, is caught by `log witness`,
// which names both sizes and exits 1; its kept state is untouched.
func TestLogWitnessCatchesAFork(t *testing.T) {
	skey, vkey, _ := translog.GenerateKey("fork.example/log")
	signer, _ := translog.NewSigner(skey)
	dir := t.TempDir()
	vkeyFile := filepath.Join(dir, "log.vkey")
	os.WriteFile(vkeyFile, []byte(vkey+"\n"), 0o600)
	// What the log serves; set between runs of the witness.
	var serving atomic.Pointer[[]byte]
	serve := func(b []byte) { serving.Store(&b) }
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Write(*serving.Load())
	}))
	defer srv.Close()
	sign := func(size int64, root byte) []byte {
		b, err := signer.Sign(size, tlog.Hash{root})
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	state := filepath.Join(dir, "state")
	var tr transcript
	serve(sign(25, 1))
	if r := tr.run(t, nil, "log", "witness", "--url", srv.URL, "--state", state, "--log-key", vkeyFile); r.code != 0 {
		t.Fatalf("first checkpoint: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	kept, _ := os.ReadFile(filepath.Join(state, "latest.checkpoint"))
	serve(sign(25, 2))
	r := tr.run(t, nil, "log", "witness", "--url", srv.URL, "--state", state)
	if r.code != 1 || !strings.Contains(r.stdout, "forked") || !strings.Contains(r.stdout, "25") {
		t.Fatalf("a fork of equal size: exit %d %q", r.code, r.stdout)
	}
	serve(sign(24, 1))
	r = tr.run(t, nil, "log", "witness", "--url", srv.URL, "--state", state)
	if r.code != 1 || !strings.Contains(r.stdout, "rolled back") || !strings.Contains(r.stdout, "24") || !strings.Contains(r.stdout, "25") {
		t.Fatalf("a rollback: exit %d %q", r.code, r.stdout)
	}
	if now, _ := os.ReadFile(filepath.Join(state, "latest.checkpoint")); string(now) != string(kept) {
		t.Fatal("a refused checkpoint replaced the kept one")
	}
	_, ovkey, _ := translog.GenerateKey("other.example/log")
	ofile := filepath.Join(dir, "other.vkey")
	os.WriteFile(ofile, []byte(ovkey+"\n"), 0o600)
	if r := tr.run(t, nil, "log", "witness", "--url", srv.URL, "--state", state, "--log-key", ofile); r.code != 1 || !strings.Contains(r.stderr, "not the key of the log") {
		t.Fatalf("another log's key over kept state: exit %d %s", r.code, r.stderr)
	}
	serve([]byte("not a checkpoint"))
	if r := tr.run(t, nil, "log", "witness", "--url", srv.URL, "--state", state); r.code != 1 || !strings.Contains(r.stderr, "not a valid checkpoint") {
		t.Fatalf("garbage: exit %d %s", r.code, r.stderr)
	}
	if r := tr.run(t, nil, "log", "witness", "--url", srv.URL, "--state", filepath.Join(dir, "fresh")); r.code != 1 || !strings.Contains(r.stderr, "--log-key") {
		t.Fatalf("no key the first time: exit %d %s", r.code, r.stderr)
	}
}

// TestMigrateMakesAnOldTrailLeaves: a trail written before the log
// existed (as migration 00008 finds it: entries, no leaves) keeps
// serving refused until `migrate` with the keys makes its entries
// leaves; its chain and the new log then verify.
func TestMigrateMakesAnOldTrailLeaves(t *testing.T) {
	dbURL, conn := testDatabase(t)
	ctx := context.Background()
	var tr transcript
	dir := t.TempDir()
	env := []string{"DATABASE_URL=" + dbURL, "DEGREEGATE_KEYS_DIR=" + filepath.Join(dir, "keys")}
	for _, args := range [][]string{
		{"keys", "init"}, {"migrate"},
		{"gen", "--records", "1200", "--seed", "3", "--out", filepath.Join(dir, "r.csv")},
		{"import", "--quiet", "--batch-size", "100", filepath.Join(dir, "r.csv")},
	} {
		if r := tr.run(t, env, args...); r.code != 0 {
			t.Fatalf("%v: exit %d %s %s", args, r.code, r.stdout, r.stderr)
		}
	}
	var seq int64
	conn.QueryRow(ctx, `SELECT seq FROM audit_head`).Scan(&seq)
	if seq < 10 {
		t.Fatalf("import wrote %d audit entries, want one per batch", seq)
	}
	// The trail as it was before the log, and a version filed before
	// versions were leaves (migration 00009 lists those it finds).
	for _, stmt := range []string{
		`ALTER TABLE log_nodes DISABLE TRIGGER USER`, `ALTER TABLE audit_head DISABLE TRIGGER USER`,
		`DELETE FROM log_nodes`, `UPDATE audit_head SET log_size = 0, log_root = sha256(''::bytea)`,
		`ALTER TABLE log_nodes ENABLE TRIGGER USER`, `ALTER TABLE audit_head ENABLE TRIGGER USER`,
		`INSERT INTO record_versions SELECT certificate_number, 2, kind, unit_code, degree_level, conferral_year, status, person_index, key_id, secret, digest, body,
			'office:legacy', 'amended before the log', changed_at FROM record_versions WHERE version = 1 ORDER BY certificate_number LIMIT 1`,
		`INSERT INTO unlogged_versions SELECT certificate_number, version FROM record_versions WHERE version = 2`,
	} {
		if _, err := conn.Exec(ctx, stmt); err != nil {
			t.Fatalf("%s: %v", stmt, err)
		}
	}
	r := tr.run(t, env, "import", "--quiet", filepath.Join(dir, "r.csv"))
	if r.code == 0 || !strings.Contains(r.stderr, "degreegate migrate") {
		t.Fatalf("appending to a trail the log does not cover: exit %d %s", r.code, r.stderr)
	}
	serveEnv := append(env[:len(env):len(env)], "REDIS_URL=redis://127.0.0.1:1/0", "DEGREEGATE_CHECKPOINTS_DIR="+filepath.Join(dir, "checkpoints"))
	if r := tr.run(t, serveEnv, "serve", "--addr", "127.0.0.1:0"); r.code == 0 || !strings.Contains(r.stderr, "degreegate migrate") {
		t.Fatalf("serve over a trail the log does not cover: exit %d %s", r.code, r.stderr)
	}
	r = tr.run(t, env, "migrate")
	if r.code != 0 || !strings.Contains(r.stdout, fmt.Sprintf("made audit entries 1–%d leaves", seq)) ||
		!strings.Contains(r.stdout, "filed 1 record versions written before the transparency log as leaves") {
		t.Fatalf("migrate: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := tr.run(t, env, "audit", "verify"); r.code != 0 || !strings.Contains(r.stdout, "every entry is its leaf") || !strings.Contains(r.stdout, "every record version is the one its entry filed") {
		t.Fatalf("audit verify after migrate: exit %d %s %s", r.code, r.stdout, r.stderr)
	}
	if r := tr.run(t, env, "migrate"); r.code != 0 || strings.Contains(r.stdout, "leaves") || strings.Contains(r.stdout, "filed") {
		t.Fatalf("a second migrate is not a no-op: %s", r.stdout)
	}
	if r := tr.run(t, env, "import", "--quiet", filepath.Join(dir, "r.csv")); r.code != 0 {
		t.Fatalf("import after migrate: exit %d %s", r.code, r.stderr)
	}
}

// checkProofsIndependently fetches the inclusion proof of every leaf of
// the tree cp names from a running gateway, and has RFC 9162's algorithm
// as written in translog/testdata/rfc9162.py (Python, hashlib alone)
// check each against the signed root.
func checkProofsIndependently(t *testing.T, base string, cp translog.Checkpoint) {
	t.Helper()
	python, err := exec.LookPath("python3")
	if err != nil {
		t.Fatal("python3 is needed for the independent proof check: ", err)
	}
	getJSON := func(path string, v any) {
		resp, err := client.Get(base + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("GET %s: %s", path, resp.Status)
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatal(err)
		}
	}
	root := base64.StdEncoding.EncodeToString(cp.Root[:])
	var in bytes.Buffer
	cases := 0
	for i := int64(0); i < cp.Size; i++ {
		var p struct {
			LeafHash string   `json:"leaf_hash"`
			Proof    []string `json:"inclusion_path"`
		}
		getJSON(fmt.Sprintf("/v1/log/proof/inclusion?index=%d&tree_size=%d", i, cp.Size), &p)
		b, _ := json.Marshal(map[string]any{"kind": "inclusion", "index": i, "size": cp.Size, "leaf": p.LeafHash, "root": root, "proof": p.Proof})
		in.Write(append(b, '\n'))
		cases++
	}
	cmd := exec.Command(python, "../../translog/testdata/rfc9162.py")
	cmd.Stdin = &in
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("rfc9162.py: %v", err)
	}
	if got := strings.Count(string(out), "ok\n"); got != cases {
		t.Fatalf("the independent verifier accepted %d of the gateway's %d inclusion proofs:\n%s", got, cases, out)
	}
}

// checkReceipt runs `receipt verify` on a receipt from a running
// gateway: its signature and, online, the proof that the log holds the
// leaf it names; a receipt with one changed claim is refused.
func checkReceipt(t *testing.T, tr *transcript, base, receipt, vkey string) {
	t.Helper()
	dir := t.TempDir()
	file := filepath.Join(dir, "receipt.jws")
	os.WriteFile(file, []byte(receipt+"\n"), 0o600)
	r := tr.run(t, nil, "receipt", "verify", file, "--jwks", base+"/.well-known/jwks.json", "--log-key", vkey)
	if r.code != 0 || !strings.Contains(r.stdout, "signature: valid") || !strings.Contains(r.stdout, "included in the checkpoint") ||
		!strings.Contains(r.stdout, "its signature checked") {
		t.Fatalf("receipt verify online: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	resp, err := client.Get(base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	jwks, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	jwksFile := filepath.Join(dir, "jwks.json")
	os.WriteFile(jwksFile, jwks, 0o600)
	r = tr.run(t, nil, "receipt", "verify", file, "--jwks", jwksFile)
	if r.code != 0 || !strings.Contains(r.stdout, "not checked (offline") {
		t.Fatalf("receipt verify offline: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	parts := strings.Split(receipt, ".")
	payload, _ := base64.RawURLEncoding.DecodeString(parts[1])
	forged := strings.Replace(string(payload), `"status":"valid"`, `"status":"revoked"`, 1)
	if forged == string(payload) {
		forged = strings.Replace(string(payload), `"status":"revoked"`, `"status":"valid"`, 1)
	}
	parts[1] = base64.RawURLEncoding.EncodeToString([]byte(forged))
	os.WriteFile(file, []byte(strings.Join(parts, ".")), 0o600)
	r = tr.run(t, nil, "receipt", "verify", file, "--jwks", jwksFile)
	if r.code != 1 || !strings.Contains(r.stdout, "receipt INVALID") {
		t.Fatalf("a receipt with a changed claim: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
}
