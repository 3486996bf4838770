package gateway

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestUnknownFieldEchoesOnlyFieldNames: an unknown key is named back only
// when it is shaped like the API's field names; a key holding an ID
// number, a phone number or a name is not reflected.
func TestUnknownFieldEchoesOnlyFieldNames(t *testing.T) {
	for _, tc := range []struct {
		key  string
		echo bool
	}{
		{"shoe_size", true},
		{"320111199510068292", false},
		{"13812345678", false},
		{"id320111199510068292", false},
		{"张三", false},
		{"Name", false},
		{strings.Repeat("a", 41), false},
	} {
		var v struct{ Known string }
		dec := json.NewDecoder(strings.NewReader(`{"` + tc.key + `":1}`))
		dec.DisallowUnknownFields()
		reason := jsonReason(dec.Decode(&v))
		if got := strings.Contains(reason, tc.key); got != tc.echo {
			t.Errorf("key %q: reason %q (echoed %v, want %v)", tc.key, reason, got, tc.echo)
		}
		if !strings.HasPrefix(reason, "unknown field") {
			t.Errorf("key %q: reason %q, want unknown field", tc.key, reason)
		}
	}
}
