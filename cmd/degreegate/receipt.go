package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/degreegate/degreegate/gateway/token"
	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/translog"
)

const jwksPath = "/.well-known/jwks.json"

func runReceipt(ctx context.Context, args []string, e env) error {
	if len(args) == 0 || args[0] != "verify" {
		return usageError{"usage: degreegate receipt verify FILE [--jwks FILE|URL] [--url URL] [--log-key VKEY_FILE]"}
	}
	fs := newFlags("receipt verify", e)
	jwksLoc := fs.String("jwks", "", "the gateway's public keys: a file, or a URL such as https://verify.example.org"+jwksPath)
	base := fs.String("url", "", "the gateway whose log to ask for the proof that the receipt's entry is in it (default: the --jwks URL's site; none: offline)")
	vkeyPath := fs.String("log-key", "", "the log's verifier key, to check the signature of the checkpoint the proof is against")
	// FILE comes first (DESIGN.md) or among the flags.
	var files []string
	for rest := args[1:]; ; {
		if help, err := parse(fs, rest); help || err != nil {
			return err
		}
		if fs.NArg() == 0 {
			break
		}
		files, rest = append(files, fs.Arg(0)), fs.Args()[1:]
	}
	if len(files) != 1 || *jwksLoc == "" {
		return usageError{"receipt verify: give one receipt FILE and --jwks FILE|URL"}
	}
	raw, err := os.ReadFile(files[0])
	if err != nil {
		return fmt.Errorf("receipt verify: %w", err)
	}
	hc := &http.Client{Timeout: 15 * time.Second}
	keys, err := loadJWKS(ctx, hc, *jwksLoc)
	if err != nil {
		return fmt.Errorf("receipt verify: %w", err)
	}
	if *base == "" && strings.HasSuffix(*jwksLoc, jwksPath) && strings.Contains(*jwksLoc, "://") {
		*base = strings.TrimSuffix(*jwksLoc, jwksPath)
	}

	claims, err := token.ParseReceipt(strings.TrimSpace(string(raw)), keys)
	if err != nil {
		fmt.Fprintf(e.stdout, "receipt INVALID: %v\n", err)
		return errReported
	}
	fmt.Fprintf(e.stdout, "signature: valid (%s, key %s); receipt %s issued %s: %s, %s, policy %s\n",
		claims.Alg, claims.KeyID, claims.ID, claims.IssuedAt.Format(time.RFC3339), claims.Result, claims.Status, claims.PolicyVersion)
	if claims.Log == nil {
		fmt.Fprintln(e.stdout, "log: the receipt names no leaf of a transparency log (issued before the log, or by a gateway without one)")
		return nil
	}
	leaf, err := decodeHashes([]string{claims.Log.LeafHash})
	if err != nil {
		fmt.Fprintf(e.stdout, "receipt INVALID: its leaf hash: %v\n", err)
		return errReported
	}
	fmt.Fprintf(e.stdout, "log: its audit entry is leaf %d of %s\n", claims.Log.LeafIndex, claims.Log.Origin)
	if *base == "" {
		fmt.Fprintln(e.stdout, "log: not checked (offline: give --url, or --jwks as a URL, to ask the gateway for the proof)")
		return nil
	}
	u, err := url.Parse(*base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return usageError{"receipt verify: --url: want http(s)://host[:port]"}
	}
	lc := logClient{base: strings.TrimSuffix(u.String(), "/"), http: hc}
	msg := func(format string, a ...any) error {
		fmt.Fprintf(e.stdout, "log: NOT PROVED: "+format+"\n", a...)
		return errReported
	}
	note, err := lc.get(ctx, "/v1/log/checkpoint", nil)
	if err != nil {
		return msg("%v", err)
	}
	var cp translog.Checkpoint
	checked := "its signature not checked (no --log-key)"
	if *vkeyPath != "" {
		v, _, err := registry.LoadLogVerifier(*vkeyPath)
		if err != nil {
			return fmt.Errorf("receipt verify: %w", err)
		}
		if cp, err = v.Open(note); err != nil {
			return msg("the gateway's checkpoint: %v", err)
		}
		checked = "its signature checked"
	} else {
		text, _, _ := strings.Cut(string(note), "\n\n")
		if cp, err = translog.ParseCheckpoint([]byte(text + "\n")); err != nil {
			return msg("the gateway's checkpoint: %v", err)
		}
	}
	if cp.Origin != claims.Log.Origin {
		return msg("the gateway's log is %q, the receipt names %q", cp.Origin, claims.Log.Origin)
	}
	if claims.Log.LeafIndex >= cp.Size {
		fmt.Fprintf(e.stdout, "log: not yet provable: the newest checkpoint covers %d entries; try again in a second\n", cp.Size)
		return errReported
	}
	body, err := lc.get(ctx, "/v1/log/proof/inclusion", url.Values{
		"index": {strconv.FormatInt(claims.Log.LeafIndex, 10)}, "tree_size": {strconv.FormatInt(cp.Size, 10)}})
	if err != nil {
		return msg("%v", err)
	}
	var p struct {
		Proof []string `json:"inclusion_path"`
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return msg("the proof is not JSON: %v", err)
	}
	proof, err := decodeHashes(p.Proof)
	if err != nil {
		return msg("%v", err)
	}
	if err := translog.CheckInclusion(cp, claims.Log.LeafIndex, leaf[0], tlog.RecordProof(proof)); err != nil {
		return msg("%v", err)
	}
	fmt.Fprintf(e.stdout, "log: included in the checkpoint of %d entries (%s)\n", cp.Size, checked)
	return nil
}

// loadJWKS reads a JWK set from a file or an http(s) URL.
func loadJWKS(ctx context.Context, hc *http.Client, loc string) (*token.KeySet, error) {
	var b []byte
	var err error
	if strings.HasPrefix(loc, "http://") || strings.HasPrefix(loc, "https://") {
		u, perr := url.Parse(loc)
		if perr != nil {
			return nil, fmt.Errorf("--jwks: %w", perr)
		}
		lc := logClient{base: u.Scheme + "://" + u.Host, http: hc}
		b, err = lc.get(ctx, u.EscapedPath(), nil)
	} else {
		b, err = os.ReadFile(loc)
	}
	if err != nil {
		return nil, fmt.Errorf("--jwks: %w", err)
	}
	ks, err := token.ParseJWKS(b)
	if err != nil {
		return nil, errors.New("--jwks: " + err.Error())
	}
	return ks, nil
}
