package token

import (
	"errors"
	"fmt"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// MaxReceiptBytes bounds a receipt to check: a gateway's are under 2 KB.
const MaxReceiptBytes = 16 << 10

// Receipt is what a verification receipt says, once its signature is
// checked. The degree it shows is the holder's and is left out.
type Receipt struct {
	ID            string
	IssuedAt      time.Time
	Result        string // match | shared
	Status        string // valid | revoked
	PolicyVersion string
	// KeyID and Alg name the key that signed it.
	KeyID, Alg string
	// Log names the leaf of the transparency log that the receipt's
	// audit entry became; nil on a receipt without one.
	Log *ReceiptLog
}

// ReceiptLog is a receipt's log claim: the log's origin, the leaf index
// and the leaf hash (standard base64).
type ReceiptLog struct {
	Origin    string `json:"origin"`
	LeafIndex int64  `json:"leaf_index"`
	LeafHash  string `json:"leaf_hash"`
}

type receiptClaims struct {
	jwt.RegisteredClaims
	Result        string      `json:"result"`
	Status        string      `json:"status"`
	PolicyVersion string      `json:"policy_version"`
	Log           *ReceiptLog `json:"log"`
}

// ParseReceipt checks a receipt's signature against keys (issuer
// "degreegate", the key's one algorithm, an issue time not in the
// future) and returns its claims.
func ParseReceipt(jws string, keys *KeySet) (Receipt, error) {
	if len(jws) > MaxReceiptBytes {
		return Receipt{}, fmt.Errorf("receipt: longer than %d bytes", MaxReceiptBytes)
	}
	var c receiptClaims
	var r Receipt
	_, err := jwt.ParseWithClaims(jws, &c, func(t *jwt.Token) (any, error) {
		r.KeyID, _ = t.Header["kid"].(string)
		k, ok := keys.lookup(r.KeyID)
		if !ok {
			return nil, fmt.Errorf("no key %.64q among the gateway's", r.KeyID)
		}
		if t.Method.Alg() != k.alg {
			return nil, fmt.Errorf("signed with %.16s, key %.64q is for %s", t.Method.Alg(), r.KeyID, k.alg)
		}
		r.Alg = k.alg
		return k.pub, nil
	}, jwt.WithIssuer("degreegate"), jwt.WithIssuedAt())
	if err != nil {
		return Receipt{}, fmt.Errorf("receipt: %w", err)
	}
	if c.IssuedAt == nil || c.ID == "" {
		return Receipt{}, errors.New("receipt: no issue time or id")
	}
	r.ID, r.IssuedAt, r.Result, r.Status, r.PolicyVersion, r.Log = c.ID, c.IssuedAt.UTC(), c.Result, c.Status, c.PolicyVersion, c.Log
	return r, nil
}
