package policies

import (
	"slices"
	"time"
)

// HolderCodeRules bound the sharing codes holders issue (Art. 22: the
// holder decides who sees a fuller report, and for how long).
type HolderCodeRules struct {
	MinValidity     time.Duration
	MaxValidity     time.Duration
	DefaultValidity time.Duration // when the holder names none
	MaxActive       int           // unexpired codes per holder
	DefaultLevel    string
	// Levels are the detail levels a code may carry, sorted by name; each
	// is a field set of audiences.holder_code.scopes["degree.verify"].
	Levels []Level
}

// Level is one detail level of a holder's shared report.
type Level struct {
	Name        string
	Description Text
}

// HolderCodes returns the rules for holder sharing codes.
func (p *Policy) HolderCodes() HolderCodeRules {
	h := p.holderCodes
	h.Levels = slices.Clone(h.Levels)
	return h
}

// CheckHolderCode checks a holder's request for a code: the level must be
// offered ("" means the default) and the validity within bounds (0 means
// the default). It returns the level and validity to use.
func (p *Policy) CheckHolderCode(level string, validity time.Duration) (string, time.Duration, error) {
	h := p.holderCodes
	if level == "" {
		level = h.DefaultLevel
	}
	if !slices.ContainsFunc(h.Levels, func(l Level) bool { return l.Name == level }) {
		return "", 0, p.deny(ErrLevelRejected, Holder, ScopeHolderCodes, "%s is not offered", named("level", level, p.knownLevel(level)))
	}
	if validity == 0 {
		validity = h.DefaultValidity
	}
	if validity < h.MinValidity || validity > h.MaxValidity {
		return "", 0, p.deny(ErrValidity, Holder, ScopeHolderCodes, "validity %s outside %s–%s", validity, h.MinValidity, h.MaxValidity)
	}
	return level, validity, nil
}
