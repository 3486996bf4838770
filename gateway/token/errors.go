package token

import "errors"

// ErrInvalidToken is what every refusal of a token is: the gateway answers
// any error that errors.Is(err, ErrInvalidToken) with 401. Other errors from
// this package (a replay cache that cannot answer, a configuration that does
// not load) are not the caller's fault and map to 5xx or stop start-up.
var ErrInvalidToken = errors.New("token: invalid")

// Error is one reason a token is refused. Code is stable and safe to show
// to the caller (e.g. in a problem+json detail or WWW-Authenticate
// error_description); the message never carries a claim value.
type Error struct {
	code string
	msg  string
}

func (e *Error) Error() string { return "token: " + e.msg }

// Code is the stable machine-readable reason, e.g. "expired".
func (e *Error) Code() string { return e.code }

// Is makes every Error match ErrInvalidToken as well as itself.
func (e *Error) Is(target error) bool { return target == ErrInvalidToken }

// The reasons a token is refused. Each is an *Error and matches
// ErrInvalidToken; errors returned by Verify wrap exactly one of them,
// sometimes with the name (never the value) of the claim at fault.
var (
	ErrMalformed       = &Error{"malformed", "malformed"}
	ErrTooLarge        = &Error{"too_large", "larger than the limit"}
	ErrAlgorithm       = &Error{"algorithm", "algorithm not allowed"}
	ErrUnknownIssuer   = &Error{"unknown_issuer", "issuer not trusted"}
	ErrUnknownKey      = &Error{"unknown_key", "signing key not known"}
	ErrBadSignature    = &Error{"bad_signature", "signature does not verify"}
	ErrExpired         = &Error{"expired", "expired"}
	ErrNotYetValid     = &Error{"not_yet_valid", "not yet valid"}
	ErrWrongAudience   = &Error{"wrong_audience", "not meant for this service"}
	ErrMissingClaim    = &Error{"missing_claim", "required claim missing"}
	ErrLifetimeTooLong = &Error{"lifetime_too_long", "lifetime over the issuer's maximum"}
	ErrReplayed        = &Error{"replayed", "token id already used"}
)

// ErrReplayCacheFull is returned by MemoryReplayCache.Seen when every slot
// holds an unexpired token id. The caller must refuse the request (fail
// closed) rather than forget an id that could then be replayed.
var ErrReplayCacheFull = errors.New("token: replay cache full")

// ErrWeakKey is returned when a JWK set holds a key too weak to trust (an
// RSA modulus under 2048 bits); the whole set is refused.
var ErrWeakKey = errors.New("token: key too weak")
