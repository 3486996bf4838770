package policies

import (
	"strings"
	"testing"
)

func TestAuditRetention(t *testing.T) {
	for _, tc := range []struct {
		name   string
		change func(t *testing.T, d map[string]any)
		months int    // want, when it parses
		err    string // want, when it does not
	}{
		{"the default file", func(*testing.T, map[string]any) {}, 120, ""},
		{"absent: the default", func(_ *testing.T, d map[string]any) { delete(d, "audit") }, DefaultAuditRetentionMonths, ""},
		{"at the floor", func(_ *testing.T, d map[string]any) { d["audit"] = map[string]any{"retention_months": 36} }, 36, ""},
		{"below the floor", func(_ *testing.T, d map[string]any) { d["audit"] = map[string]any{"retention_months": 35} },
			0, "audit.retention_months: 35 is out of range: keep the trail at least 36 months"},
		{"negative", func(_ *testing.T, d map[string]any) { d["audit"] = map[string]any{"retention_months": -1} }, 0, "out of range"},
		{"unknown key", func(_ *testing.T, d map[string]any) { d["audit"] = map[string]any{"retention": "10y"} }, 0, "retention"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Parse(mutated(t, tc.change))
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("Parse: %v", err)
			case tc.err == "" && p.AuditRetentionMonths() != tc.months:
				t.Errorf("retention %d months, want %d", p.AuditRetentionMonths(), tc.months)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Errorf("Parse: %v, want an error saying %q", err, tc.err)
			}
		})
	}
}
