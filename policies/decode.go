package policies

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"
)

// decodeStrict decodes one JSON document into v (a pointer to a struct)
// the way a policy must be read: every key known, no key twice, no null,
// numbers of the right kind, nothing after the document. Unlike
// encoding/json with DisallowUnknownFields, every error names the path of
// the offending element, which is what an operator fixing a file needs.
func decodeStrict(b []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := decodeValue(dec, reflect.ValueOf(v).Elem(), ""); err != nil {
		return err
	}
	if _, err := dec.Token(); err != io.EOF {
		return &Error{Msg: "unexpected data after the policy document"}
	}
	return nil
}

func syntaxError(path string, err error) error {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return &Error{Path: path, Msg: fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, se)}
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return &Error{Path: path, Msg: "unexpected end of the document"}
	}
	return &Error{Path: path, Msg: "invalid JSON: " + err.Error()}
}

func describe(tok json.Token) string {
	switch t := tok.(type) {
	case json.Delim:
		if t == '{' {
			return "an object"
		}
		if t == '[' {
			return "an array"
		}
		return "a " + t.String()
	case string:
		return "a string"
	case json.Number:
		return "a number"
	case bool:
		return "a boolean"
	case nil:
		return "null"
	}
	return fmt.Sprintf("%T", tok)
}

func decodeValue(dec *json.Decoder, v reflect.Value, path string) error {
	tok, err := dec.Token()
	if err != nil {
		return syntaxError(path, err)
	}
	if tok == nil {
		return &Error{Path: path, Msg: "null is not allowed; leave the key out instead"}
	}
	switch v.Kind() {
	case reflect.Pointer:
		elem := reflect.New(v.Type().Elem())
		if err := decodeScalarOrComposite(dec, tok, elem.Elem(), path); err != nil {
			return err
		}
		v.Set(elem)
		return nil
	default:
		return decodeScalarOrComposite(dec, tok, v, path)
	}
}

func decodeScalarOrComposite(dec *json.Decoder, tok json.Token, v reflect.Value, path string) error {
	want := func(what string) error {
		return &Error{Path: path, Msg: fmt.Sprintf("expected %s, found %s", what, describe(tok))}
	}
	switch v.Kind() {
	case reflect.Struct:
		if tok != json.Delim('{') {
			return want("an object")
		}
		return decodeStruct(dec, v, path)
	case reflect.Map:
		if tok != json.Delim('{') {
			return want("an object")
		}
		return decodeMap(dec, v, path)
	case reflect.Slice:
		if tok != json.Delim('[') {
			return want("an array")
		}
		v.Set(reflect.MakeSlice(v.Type(), 0, 0))
		for i := 0; dec.More(); i++ {
			elem := reflect.New(v.Type().Elem()).Elem()
			if err := decodeValue(dec, elem, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
			v.Set(reflect.Append(v, elem))
		}
		return closing(dec, path)
	case reflect.String:
		s, ok := tok.(string)
		if !ok {
			return want("a string")
		}
		v.SetString(s)
	case reflect.Bool:
		b, ok := tok.(bool)
		if !ok {
			return want("true or false")
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int64:
		n, ok := tok.(json.Number)
		if !ok {
			return want("an integer")
		}
		i, err := strconv.ParseInt(string(n), 10, 64)
		if err != nil || v.OverflowInt(i) {
			return &Error{Path: path, Msg: fmt.Sprintf("expected an integer, found %s", string(n))}
		}
		v.SetInt(i)
	case reflect.Float64:
		n, ok := tok.(json.Number)
		if !ok {
			return want("a number")
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
			return &Error{Path: path, Msg: fmt.Sprintf("number %s is out of range", string(n))}
		}
		v.SetFloat(f)
	default:
		// A programming error in the document types, not in the input.
		return &Error{Path: path, Msg: fmt.Sprintf("cannot decode into %s", v.Type())}
	}
	return nil
}

// closing consumes the '}' or ']' that dec.More has just announced.
func closing(dec *json.Decoder, path string) error {
	if _, err := dec.Token(); err != nil {
		return syntaxError(path, err)
	}
	return nil
}

func decodeStruct(dec *json.Decoder, v reflect.Value, path string) error {
	t := v.Type()
	index := make(map[string]int, t.NumField())
	for i := 0; i < t.NumField(); i++ {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			index[name] = i
		}
	}
	seen := make(map[string]bool, len(index))
	for dec.More() {
		key, err := objectKey(dec, path)
		if err != nil {
			return err
		}
		at := join(path, key)
		i, ok := index[key]
		if !ok {
			return &Error{Path: at, Msg: "unknown key"}
		}
		if seen[key] {
			return &Error{Path: at, Msg: "key given twice"}
		}
		seen[key] = true
		if err := decodeValue(dec, v.Field(i), at); err != nil {
			return err
		}
	}
	return closing(dec, path)
}

func decodeMap(dec *json.Decoder, v reflect.Value, path string) error {
	if v.Type().Key().Kind() != reflect.String {
		return &Error{Path: path, Msg: fmt.Sprintf("cannot decode into %s", v.Type())}
	}
	v.Set(reflect.MakeMap(v.Type()))
	for dec.More() {
		key, err := objectKey(dec, path)
		if err != nil {
			return err
		}
		at := join(path, key)
		k := reflect.ValueOf(key).Convert(v.Type().Key())
		if v.MapIndex(k).IsValid() {
			return &Error{Path: at, Msg: "key given twice"}
		}
		elem := reflect.New(v.Type().Elem()).Elem()
		if err := decodeValue(dec, elem, at); err != nil {
			return err
		}
		v.SetMapIndex(k, elem)
	}
	return closing(dec, path)
}

func objectKey(dec *json.Decoder, path string) (string, error) {
	tok, err := dec.Token()
	if err != nil {
		return "", syntaxError(path, err)
	}
	key, ok := tok.(string)
	if !ok { // encoding/json reports this as a syntax error already; kept for safety
		return "", &Error{Path: path, Msg: "expected a key"}
	}
	return key, nil
}

// join appends a key to a path: .key for plain names, ["key"] for keys
// with dots or other characters (scope names such as "degree.verify").
func join(path, key string) string {
	plain := key != ""
	for _, r := range key {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			plain = false
			break
		}
	}
	switch {
	case !plain:
		return path + "[" + quoteName(key) + "]"
	case path == "":
		return key
	}
	return path + "." + key
}
