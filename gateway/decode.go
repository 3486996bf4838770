package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gofiber/fiber/v2"
)

// decodeJSON reads the body into v strictly: JSON only, known fields only,
// one value. Errors name the field and the rule, never the value.
func decodeJSON(c *fiber.Ctx, v any) error {
	if !bytes.HasPrefix(bytes.TrimSpace(c.Request().Header.ContentType()), []byte(fiber.MIMEApplicationJSON)) {
		return problemMediaType
	}
	dec := json.NewDecoder(bytes.NewReader(c.Body()))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var typeErr *json.UnmarshalTypeError
		switch {
		case errors.As(err, &typeErr) && typeErr.Field != "":
			return invalid(map[string]string{typeErr.Field: "wrong type: want " + typeErr.Type.String()})
		case errors.As(err, &typeErr):
			// typeErr.Value names the JSON kind ("array"), not the input.
			return problemMalformedJSON.with("expected a JSON object, not " + articled(typeErr.Value))
		case errors.Is(err, io.EOF):
			return problemMalformedJSON.with("the body is empty")
		default:
			return problemMalformedJSON.with(jsonReason(err))
		}
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return problemMalformedJSON.with("data after the JSON value")
	}
	return nil
}

// jsonReason describes a decoding error without quoting the input.
func jsonReason(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	}
	const unknown = "json: unknown field "
	if msg := err.Error(); len(msg) > len(unknown) && msg[:len(unknown)] == unknown {
		// Echo the key only when it looks like a field name — lower-case
		// letters and underscores, as every field of the API is: a client
		// that put a person's name or ID number (digits alone are one) in
		// the key must not see it reflected (or logged).
		name := strings.Trim(msg[len(unknown):], `"`)
		if len(name) <= 40 && strings.Trim(name, "abcdefghijklmnopqrstuvwxyz_") == "" {
			return `unknown field "` + name + `"`
		}
		return "unknown field"
	}
	return "not valid JSON for this route"
}

// articled is a JSON kind with its article: "an array", "a number".
func articled(kind string) string {
	if kind != "" && strings.ContainsRune("aeiou", rune(kind[0])) {
		return "an " + kind
	}
	return "a " + kind
}
