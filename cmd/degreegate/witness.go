package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/translog"
)

// maxLogAnswer bounds what the witness reads of one answer: a checkpoint
// or a proof is a few kilobytes.
const maxLogAnswer = 1 << 16

func runLog(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || args[0] != "witness" {
		return usageError{"usage: degreegate log witness --url URL --state DIR [--log-key VKEY_FILE] [--every DURATION]"}
	}
	fs := newFlags("log witness", e)
	base := fs.String("url", "", "the gateway's base URL, e.g. https://verify.example.org")
	state := fs.String("state", "", "folder where this witness keeps the log's key and every checkpoint it accepted")
	vkeyPath := fs.String("log-key", "", "the log's verifier key ("+registry.LogVerifierFile+" from the operator); needed the first time, then kept in --state")
	every := fs.Duration("every", 0, "check again at this interval until interrupted (0: once)")
	if help, err := parse(fs, args[1:]); help || err != nil {
		return err
	}
	if *base == "" || *state == "" {
		return usageError{"log witness: --url and --state are required"}
	}
	u, err := url.Parse(*base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError{"log witness: --url: want http(s)://host[:port]"}
	}
	v, err := witnessKey(*state, *vkeyPath)
	if err != nil {
		return fmt.Errorf("log witness: %w", err)
	}
	w, err := translog.OpenWitness(*state, v)
	if err != nil {
		return fmt.Errorf("log witness: %w", err)
	}
	lc := logClient{base: strings.TrimSuffix(u.String(), "/"), http: &http.Client{Timeout: 15 * time.Second}}
	for {
		if err := witnessOnce(ctx, w, lc, e); err != nil {
			if errors.Is(err, translog.ErrFork) || errors.Is(err, translog.ErrRollback) {
				fmt.Fprintf(e.stdout, "LOG MISBEHAVED: %v\n", err)
				return errReported
			}
			if *every == 0 {
				return fmt.Errorf("log witness: %w", err)
			}
			fmt.Fprintf(e.stderr, "log witness: %v\n", err)
		}
		if *every == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(*every):
		}
	}
}

// witnessKey is the log's verifier key: the one kept in state, or given
// by --log-key the first time (and then kept). A key given later that is
// not the one kept is refused: a witness never changes logs.
func witnessKey(state, given string) (*translog.Verifier, error) {
	kept := filepath.Join(state, registry.LogVerifierFile)
	v, vkey, err := registry.LoadLogVerifier(kept)
	switch {
	case err == nil && given != "":
		_, gkey, err := registry.LoadLogVerifier(given)
		if err != nil {
			return nil, err
		}
		if gkey != vkey {
			return nil, fmt.Errorf("%s is not the key of the log this state keeps (%s)", given, kept)
		}
		return v, nil
	case err == nil:
		return v, nil
	case !errors.Is(err, os.ErrNotExist):
		return nil, err
	case given == "":
		return nil, fmt.Errorf("no log key kept in %s: give the log's verifier key with --log-key the first time", state)
	}
	v, vkey, err = registry.LoadLogVerifier(given)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(state, 0o700); err != nil {
		return nil, err
	}
	if err := os.WriteFile(kept, []byte(vkey+"\n"), 0o600); err != nil {
		return nil, err
	}
	return v, nil
}

func witnessOnce(ctx context.Context, w *translog.Witness, lc logClient, e env) error {
	signed, err := lc.get(ctx, "/v1/log/checkpoint", nil)
	if err != nil {
		return err
	}
	before, _, had := w.Latest()
	c, err := w.Update(signed, func(old, size int64) (tlog.TreeProof, error) {
		return lc.consistency(ctx, old, size)
	})
	if err != nil {
		return err
	}
	switch {
	case !had:
		fmt.Fprintf(e.stdout, "kept the first checkpoint of %s: %d entries, root %s\n", c.Origin, c.Size, c.Root)
	case c.Size == before.Size:
		fmt.Fprintf(e.stdout, "checkpoint of %d entries unchanged\n", c.Size)
	default:
		fmt.Fprintf(e.stdout, "checkpoint of %d entries extends the one of %d kept: kept\n", c.Size, before.Size)
	}
	return nil
}

// logClient reads a gateway's /v1/log routes.
type logClient struct {
	base string
	http *http.Client
}

func (lc logClient) get(ctx context.Context, path string, q url.Values) ([]byte, error) {
	target := lc.base + path
	if q != nil {
		target += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	resp, err := lc.http.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxLogAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("GET %s: %w", path, err)
	}
	if len(body) > maxLogAnswer {
		return nil, fmt.Errorf("GET %s: answer larger than %d bytes", path, maxLogAnswer)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %.200s", path, resp.Status, bytes.TrimSpace(body))
	}
	return body, nil
}

func (lc logClient) consistency(ctx context.Context, first, size int64) (tlog.TreeProof, error) {
	body, err := lc.get(ctx, "/v1/log/proof/consistency", url.Values{
		"first": {strconv.FormatInt(first, 10)}, "tree_size": {strconv.FormatInt(size, 10)}})
	if err != nil {
		return nil, err
	}
	var a struct {
		First    int64    `json:"first"`
		TreeSize int64    `json:"tree_size"`
		Proof    []string `json:"consistency_path"`
	}
	if err := json.Unmarshal(body, &a); err != nil {
		return nil, fmt.Errorf("consistency proof: not JSON: %w", err)
	}
	if a.First != first || a.TreeSize != size {
		return nil, fmt.Errorf("consistency proof: asked for %d → %d, got %d → %d", first, size, a.First, a.TreeSize)
	}
	return decodeHashes(a.Proof)
}

func decodeHashes(in []string) ([]tlog.Hash, error) {
	out := make([]tlog.Hash, len(in))
	for i, s := range in {
		b, err := base64.StdEncoding.Strict().DecodeString(s)
		if err != nil || len(b) != tlog.HashSize {
			return nil, fmt.Errorf("proof hash %d is not %d bytes of standard base64", i+1, tlog.HashSize)
		}
		copy(out[i][:], b)
	}
	return out, nil
}
