package token

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"
)

// keySource holds one issuer's keys and refreshes them from the issuer's
// JWKS (file or URL) when a token names an unknown kid or the keys are older
// than maxAge — at most once per minInterval, however many requests ask,
// so a stream of tokens with invented kids cannot turn into a stream of
// fetches. Concurrent askers share one fetch (singleflight).
type keySource struct {
	issuer      string
	fetch       func(ctx context.Context) ([]byte, error) // nil: static keys
	now         func() time.Time
	minInterval time.Duration
	maxAge      time.Duration
	timeout     time.Duration
	log         *slog.Logger

	mu          sync.RWMutex
	set         *KeySet
	loadedAt    time.Time
	lastAttempt time.Time
	fetching    bool // a refresh is under way: askers join it

	flight singleflight.Group
}

// lookup returns the key named kid. An unknown kid makes the caller wait
// for one refresh (if the rate limit allows); a known key in a stale set is
// returned at once while the set refreshes in the background, so a slow
// JWKS endpoint never holds up requests whose key we already have. A failed
// refresh keeps the keys already known.
func (s *keySource) lookup(ctx context.Context, kid string) (verificationKey, error) {
	s.mu.RLock()
	k, ok := s.set.lookup(kid)
	now := s.now()
	stale := s.maxAge > 0 && now.Sub(s.loadedAt) >= s.maxAge
	mayRefresh := s.fetch != nil && now.Sub(s.lastAttempt) >= s.minInterval
	fetching := s.fetching
	s.mu.RUnlock()
	if ok {
		if stale && mayRefresh {
			// DoChan's channel is buffered: nobody has to read it.
			s.flight.DoChan("refresh", s.refreshFunc(ctx))
		}
		return k, nil
	}
	if !mayRefresh && !fetching {
		return verificationKey{}, fmt.Errorf("%w: no such kid", ErrUnknownKey)
	}
	select {
	case <-s.flight.DoChan("refresh", s.refreshFunc(ctx)):
	case <-ctx.Done():
		return verificationKey{}, fmt.Errorf("keys of issuer %q: %w", s.issuer, ctx.Err())
	}
	s.mu.RLock()
	k, ok = s.set.lookup(kid)
	s.mu.RUnlock()
	if !ok {
		return verificationKey{}, fmt.Errorf("%w: no such kid, even after a refresh", ErrUnknownKey)
	}
	return k, nil
}

// refreshFunc fetches and installs the issuer's keys; run through the
// singleflight group so concurrent callers share one fetch. The fetch is
// detached from the first caller's cancellation (others may be waiting on
// it) but runs under its own timeout. Failures are logged here, since a
// background refresh has nobody else to tell.
func (s *keySource) refreshFunc(ctx context.Context) func() (any, error) {
	return func() (any, error) {
		s.mu.Lock()
		if s.now().Sub(s.lastAttempt) < s.minInterval {
			// Another flight has just run; its result stands.
			s.mu.Unlock()
			return nil, nil
		}
		s.lastAttempt, s.fetching = s.now(), true
		s.mu.Unlock()

		fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.timeout)
		defer cancel()
		set, err := s.load(fctx)
		s.mu.Lock()
		s.fetching = false
		if err == nil {
			s.set, s.loadedAt = set, s.now()
		}
		s.mu.Unlock()
		if err != nil {
			s.log.Warn("JWKS refresh failed; keeping the keys already known", "issuer", s.issuer, "err", err)
			return nil, err
		}
		return nil, nil
	}
}

// load fetches and parses the JWKS without touching the cache.
func (s *keySource) load(ctx context.Context) (*KeySet, error) {
	b, err := s.fetch(ctx)
	if err != nil {
		return nil, err
	}
	set, err := ParseJWKS(b)
	if err != nil {
		return nil, err
	}
	return set, nil
}

// fileFetcher reads a JWKS file, refusing files over the size limit.
func fileFetcher(path string) func(context.Context) ([]byte, error) {
	return func(ctx context.Context) ([]byte, error) {
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("JWKS file: %w", err)
		}
		defer f.Close()
		return readLimited(f, "JWKS file "+path)
	}
}

// httpFetcher GETs a JWKS URL with client (which carries the timeout and
// the redirect policy), accepting only 200 and bodies under the size limit.
func httpFetcher(client *http.Client, url string) func(context.Context) ([]byte, error) {
	return func(ctx context.Context) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, fmt.Errorf("JWKS %s: %w", url, err)
		}
		req.Header.Set("Accept", "application/jwk-set+json, application/json")
		resp, err := client.Do(req)
		if err != nil {
			return nil, fmt.Errorf("JWKS %s: %w", url, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 4<<10))
			return nil, fmt.Errorf("JWKS %s: HTTP status %d", url, resp.StatusCode)
		}
		return readLimited(resp.Body, "JWKS "+url)
	}
}

func readLimited(r io.Reader, what string) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r, MaxJWKSBytes+1))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", what, err)
	}
	if len(b) > MaxJWKSBytes {
		return nil, fmt.Errorf("%s: larger than %d bytes", what, MaxJWKSBytes)
	}
	return b, nil
}

// jwksClient copies the caller's client (or makes one) with a timeout and
// a redirect policy that never leaves https, so a compromised or
// misconfigured endpoint cannot downgrade the key fetch.
func jwksClient(c *http.Client, timeout time.Duration) *http.Client {
	var cl http.Client
	if c != nil {
		cl = *c
	}
	if cl.Timeout == 0 || cl.Timeout > timeout {
		cl.Timeout = timeout
	}
	cl.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 3 {
			return errors.New("too many redirects")
		}
		if !strings.EqualFold(req.URL.Scheme, "https") {
			return errors.New("redirect away from https refused")
		}
		return nil
	}
	return &cl
}
