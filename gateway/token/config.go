package token

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
)

// Audience is the kind of caller an issuer's tokens identify. The names
// are the audiences of the policy file.
type Audience string

// The audiences a token can carry. The public is never a token audience.
const (
	AudienceAgency     Audience = "agency"
	AudienceHolder     Audience = "holder"
	AudienceContractor Audience = "contractor"
	AudienceOffice     Audience = "office"
)

// Valid reports whether a is one of the four token audiences.
func (a Audience) Valid() bool {
	switch a {
	case AudienceAgency, AudienceHolder, AudienceContractor, AudienceOffice:
		return true
	}
	return false
}

// MaxLifetimeCap bounds every issuer's max_lifetime: tokens are meant to
// be short-lived, and a day is already generous for a bearer credential.
const MaxLifetimeCap = 24 * time.Hour

// Config is the trusted-issuers file named by DEGREEGATE_TRUSTED_ISSUERS.
// It is JSON, decoded strictly (an unknown key stops start-up). Example
// (testdata/trusted-issuers.json is one like it, and a test loads it):
//
//	{
//	  "issuers": [
//	    {
//	      "iss": "https://idp.agency.example/",
//	      "aud": ["degreegate"],
//	      "kind": "agency",
//	      "jwks": "https://idp.agency.example/.well-known/jwks.json",
//	      "algorithms": ["ES256", "RS256"],
//	      "max_lifetime": "15m"
//	    },
//	    {
//	      "iss": "https://realname.example/",
//	      "aud": ["degreegate"],
//	      "kind": "holder",
//	      "jwks": "holder-jwks.json",
//	      "algorithms": ["EdDSA"],
//	      "max_lifetime": "10m"
//	    }
//	  ]
//	}
//
// Fields of an issuer:
//   - iss: the exact "iss" its tokens carry; unique in the file.
//   - aud: the "aud" values accepted (any one must be in the token).
//   - kind: agency, holder, contractor or office — what a token of this
//     issuer identifies. An identity provider that issues two kinds uses
//     two "iss" values, so a token can never be read as another kind.
//   - jwks: an https:// URL, or a file path (relative paths are relative to
//     the trusted-issuers file). Plain http is refused.
//   - algorithms: a non-empty subset of EdDSA, ES256, RS256.
//   - max_lifetime: a Go duration (e.g. "15m"), at most 24h; a token whose
//     exp − iat (or exp − now, without iat) is longer is refused.
type Config struct {
	Issuers []IssuerConfig `json:"issuers"`
}

// IssuerConfig is one trusted issuer; see Config for the file format.
type IssuerConfig struct {
	Issuer      string   `json:"iss"`
	Audience    []string `json:"aud"`
	Kind        Audience `json:"kind"`
	JWKS        string   `json:"jwks"`
	Algorithms  []string `json:"algorithms"`
	MaxLifetime Duration `json:"max_lifetime"`

	// Keys, when set, are used instead of JWKS and never refreshed: for
	// the dev issuer and tests, which hold their keys in memory.
	Keys *KeySet `json:"-"`
}

// Duration is a time.Duration written in JSON as a Go duration string.
type Duration time.Duration

// UnmarshalJSON reads a duration string such as "15m".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return errors.New(`want a duration string such as "15m"`)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return fmt.Errorf(`want a duration string such as "15m": %w`, err)
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration as a Go duration string.
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(time.Duration(d).String())
}

const maxConfigBytes = 1 << 20

// LoadConfig reads and validates the trusted-issuers file at path.
// Relative JWKS paths are resolved against the file's folder.
func LoadConfig(path string) (Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return Config{}, fmt.Errorf("trusted issuers: %w", err)
	}
	defer f.Close()
	cfg, err := ParseConfig(f, filepath.Dir(path))
	if err != nil {
		return Config{}, fmt.Errorf("trusted issuers %s: %w", path, err)
	}
	return cfg, nil
}

// ParseConfig decodes a trusted-issuers document strictly and validates
// it; baseDir resolves relative JWKS paths ("" leaves them as they are).
func ParseConfig(r io.Reader, baseDir string) (Config, error) {
	b, err := io.ReadAll(io.LimitReader(r, maxConfigBytes+1))
	if err != nil {
		return Config{}, err
	}
	if len(b) > maxConfigBytes {
		return Config{}, fmt.Errorf("larger than %d bytes", maxConfigBytes)
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	var cfg Config
	if err := dec.Decode(&cfg); err != nil {
		return Config{}, fmt.Errorf("not a valid trusted-issuers document: %w", err)
	}
	if dec.More() {
		return Config{}, errors.New("not a valid trusted-issuers document: trailing data after the object")
	}
	if baseDir != "" {
		for i := range cfg.Issuers {
			j := cfg.Issuers[i].JWKS
			if j != "" && !strings.Contains(j, "://") && !filepath.IsAbs(j) {
				cfg.Issuers[i].JWKS = filepath.Join(baseDir, j)
			}
		}
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Validate checks every issuer and reports all problems at once, each
// naming the issuer's position and field.
func (c Config) Validate() error {
	if len(c.Issuers) == 0 {
		return errors.New("issuers: at least one trusted issuer is required")
	}
	var errs []error
	seen := make(map[string]int, len(c.Issuers))
	for i, is := range c.Issuers {
		bad := func(field, msg string) { errs = append(errs, fmt.Errorf("issuers[%d].%s: %s", i, field, msg)) }
		switch {
		case is.Issuer == "":
			bad("iss", "required")
		case !printable(is.Issuer, 256) || strings.Contains(is.Issuer, "#"):
			// No fragment: officials are named "ISS#SUB" (datasets.OfficialID).
			bad("iss", "must be printable, without a \"#\", and at most 256 bytes")
		default:
			if j, dup := seen[is.Issuer]; dup {
				bad("iss", fmt.Sprintf("same issuer as issuers[%d]", j))
			}
			seen[is.Issuer] = i
		}
		if len(is.Audience) == 0 {
			bad("aud", "at least one accepted audience is required")
		}
		for _, a := range is.Audience {
			if a == "" || !printable(a, 256) {
				bad("aud", "each audience must be non-empty, printable and at most 256 bytes")
				break
			}
		}
		if !is.Kind.Valid() {
			bad("kind", "must be agency, holder, contractor or office")
		}
		if is.Keys == nil {
			if err := checkJWKSLocation(is.JWKS); err != nil {
				bad("jwks", err.Error())
			}
		}
		if len(is.Algorithms) == 0 {
			bad("algorithms", "at least one of EdDSA, ES256, RS256 is required")
		}
		for j, alg := range is.Algorithms {
			if !supportedAlg(alg) {
				bad("algorithms", fmt.Sprintf("%q is not allowed: only EdDSA, ES256 and RS256", alg))
			} else if slices.Index(is.Algorithms, alg) != j {
				bad("algorithms", fmt.Sprintf("%q listed twice", alg))
			}
		}
		if d := time.Duration(is.MaxLifetime); d <= 0 || d > MaxLifetimeCap {
			bad("max_lifetime", fmt.Sprintf("required, above 0 and at most %s", MaxLifetimeCap))
		}
	}
	return errors.Join(errs...)
}

func checkJWKSLocation(loc string) error {
	switch {
	case loc == "":
		return errors.New("required: an https:// URL or a file path")
	case strings.Contains(loc, "://"):
		u, err := url.Parse(loc)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return errors.New("a URL must be https:// with a host")
		}
		if u.User != nil {
			return errors.New("a URL must not carry credentials")
		}
	}
	return nil
}

func supportedAlg(alg string) bool {
	return alg == AlgEdDSA || alg == AlgES256 || alg == AlgRS256
}

// printable reports whether s is at most limit bytes of valid UTF-8 without
// control characters: values that end up in logs and audit entries.
func printable(s string, limit int) bool {
	if len(s) > limit {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == 0xfffd || (r >= 0x80 && r < 0xa0) {
			return false
		}
	}
	return true
}
