package jitter

import (
	"bytes"
	"strconv"
	"strings"
	"testing"
)

func TestReplicate(t *testing.T) {
	in := "sex;age\nMale;17\nFemale;50\nMale;90\n"
	o := Options{Times: 5, Column: "age", Delta: 1, Seed: 1, Sep: ';'}
	var a, b bytes.Buffer
	if err := Replicate(strings.NewReader(in), &a, o); err != nil {
		t.Fatal(err)
	}
	if err := Replicate(strings.NewReader(in), &b, o); err != nil {
		t.Fatal(err)
	}
	if a.String() != b.String() {
		t.Fatal("not deterministic")
	}
	lines := strings.Split(strings.TrimSuffix(a.String(), "\n"), "\n")
	if len(lines) != 1+5*3 || lines[0] != "sex;age" || strings.Join(lines[1:4], "\n")+"\n" != in[len("sex;age\n"):] {
		t.Fatalf("output:\n%s", a.String())
	}
	orig := []int{17, 50, 90}
	moved := false
	for i, l := range lines[1:] {
		age, err := strconv.Atoi(strings.Split(l, ";")[1])
		if err != nil {
			t.Fatal(err)
		}
		d := age - orig[i%3]
		if d < -1 || d > 1 || age < 17 || age > 90 {
			t.Fatalf("line %q: moved %d or left the input's range", l, d)
		}
		moved = moved || d != 0
	}
	if !moved {
		t.Fatal("nothing jittered")
	}
	var c bytes.Buffer
	o.Rows = 7
	if err := Replicate(strings.NewReader(in), &c, o); err != nil || strings.Count(c.String(), "\n") != 8 {
		t.Fatalf("rows limit: %v\n%s", err, c.String())
	}
	if err := Replicate(strings.NewReader(in), &c, Options{Times: 2, Column: "nope", Sep: ';'}); err == nil {
		t.Fatal("unknown column accepted")
	}
}
