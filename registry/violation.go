package registry

import (
	"fmt"
	"strings"
)

// Violation is one broken rule: the field (contract name, e.g.
// "certificate_number"), a stable machine code, and a message for people.
// Messages never quote personal data (ID numbers, names, phones, e-mails).
type Violation struct {
	Field   string `json:"field"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (v Violation) String() string { return v.Field + ": " + v.Code + ": " + v.Message }

// InvalidError carries every violation of one record; it wraps ErrInvalid.
type InvalidError struct {
	Violations []Violation
}

func (e *InvalidError) Error() string {
	parts := make([]string, len(e.Violations))
	for i, v := range e.Violations {
		parts[i] = v.String()
	}
	return fmt.Sprintf("invalid record: %s", strings.Join(parts, "; "))
}

func (e *InvalidError) Unwrap() error { return ErrInvalid }
