package disclose

import (
	"strconv"
	"unicode/utf8"

	"github.com/degreegate/degreegate/policies"
)

// The public verification route answers every match with a body, a
// receipt payload and an audit detail that hold the same few fields.
// Encoding them with encoding/json's reflection (and its sorted map
// walk) cost more CPU than anything but the signature
// (BenchmarkPublicVerify in gateway/verify_bench_test.go), so the hot path
// appends them directly. appendJSONString escapes exactly as
// encoding/json does; FuzzAppendJSONString holds it to that, and
// TestHandEncodedBodies the bodies to json.Marshal's.

// appendJSONString appends s as a JSON string: HTML-safe (<, >, & as
// \u003c …), U+2028/2029 escaped, invalid UTF-8 as U+FFFD — byte for
// byte what json.Marshal writes for a string.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		b := s[i]
		if b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' && b != '<' && b != '>' && b != '&' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[b>>4], hex[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xF])
		default:
			i += size
			continue
		}
		i += size
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// appendField appends "name":"value" with a leading comma unless it
// opens the object (dst ends with '{').
func appendField(dst []byte, name, value string) []byte {
	if len(dst) > 0 && dst[len(dst)-1] != '{' {
		dst = append(dst, ',')
	}
	dst = appendJSONString(dst, name)
	dst = append(dst, ':')
	return appendJSONString(dst, value)
}

// appendShown appends disclosed fields as a JSON object; in the
// policy's field-name order, it is what json.Marshal writes for the
// same fields as a map.
func appendShown(dst []byte, shown []policies.Shown) []byte {
	dst = append(dst, '{')
	for _, f := range shown {
		if lit := policies.JSONLiteral(f.Kind, f.Value); lit != "" {
			if dst[len(dst)-1] != '{' {
				dst = append(dst, ',')
			}
			dst = appendJSONString(dst, f.Field)
			dst = append(append(dst, ':'), lit...)
			continue
		}
		dst = appendField(dst, f.Field, f.Value)
	}
	return append(dst, '}')
}

// appendFieldNames appends the names of disclosed fields as a JSON array.
func appendFieldNames(dst []byte, shown []policies.Shown) []byte {
	dst = append(dst, '[')
	for i, f := range shown {
		if i > 0 {
			dst = append(dst, ',')
		}
		dst = appendJSONString(dst, f.Field)
	}
	return append(dst, ']')
}

// appendInt appends "name":n after a comma.
func appendInt(dst []byte, name string, n int64) []byte {
	dst = append(dst, ',')
	dst = appendJSONString(dst, name)
	dst = append(dst, ':')
	return strconv.AppendInt(dst, n, 10)
}
