package recordfile

import (
	"slices"
	"strings"
	"testing"

	"github.com/degreegate/degreegate/registry"
)

func TestReadJSONL(t *testing.T) {
	long := `{"name":"` + strings.Repeat("x", 200) + `"}`
	tests := []struct {
		name    string
		in      string
		opt     Options
		want    []string
		err     error
		errLine int
		fields  [][]string // Field of each problem, per row with problems
		secrets []string
		check   func(t *testing.T, rows []Row)
	}{
		{name: "empty file", in: "", err: ErrEmpty, errLine: 1},
		{name: "UTF-16 file", in: "\xfe\xff\x00{\x00}", err: ErrNotUTF8, errLine: 1},
		{name: "only blank lines", in: "\n  \r\n\t\n", err: ErrEmpty, errLine: 1},
		{
			name: "good lines, BOM, CRLF, blank lines skipped",
			in: "\ufeff" + `{"kind":"bachelor","name":"张三","birth_date":"1990-01-02","programme_years":4,` +
				`"thesis_keywords":["a b","c"],"thesis_classified":true,"enrolment_month":"2008-09"}` + "\r\n\r\n   \n" +
				`{"name":null,"birth_date":"","thesis_keywords":[],"programme_years":null, "revoked_on" : "2021-01-01" }` + "\n",
			want: []string{"1:", "4:"},
			check: func(t *testing.T, rows []Row) {
				r := rows[0].Record
				if r.Kind != registry.KindBachelor || r.Name != "张三" || r.BirthDate != registry.NewDate(1990, 1, 2) || r.ProgrammeYears != 4 ||
					!slices.Equal(r.ThesisKeywords, []string{"a b", "c"}) || !r.ThesisClassified || r.EnrolmentMonth != registry.NewMonth(2008, 9) {
					t.Errorf("row 1 = %+v", r)
				}
				r = rows[1].Record
				if r.Name != "" || !r.BirthDate.IsZero() || r.ThesisKeywords != nil || r.RevokedOn != registry.NewDate(2021, 1, 1) {
					t.Errorf("row 4 = %+v", r)
				}
			},
		},
		{name: "escapes", in: `{"name":"a\"b\\c\u00e9\n","thesis_title":"\ud83d\ude00"}`, want: []string{"1:"},
			check: func(t *testing.T, rows []Row) {
				if r := rows[0].Record; r.Name != "a\"b\\cé\n" || r.ThesisTitle != "😀" {
					t.Errorf("record = %+v", r)
				}
			}},
		{
			name:    "unknown fields",
			in:      `{"kind":"bachelor","nmae":"x","Name":"zhang","x-y":"z","张三":"1"}`,
			want:    []string{"1:unknown_field,unknown_field,unknown_field,unknown_field"},
			fields:  [][]string{{"nmae", "Name", "", ""}},
			secrets: []string{"张三"},
			check: func(t *testing.T, rows []Row) {
				if m := rows[0].Problems[1].Message; !strings.Contains(m, `"name"`) {
					t.Errorf("case hint missing: %q", m)
				}
			},
		},
		{
			name: "wrong types",
			in: `{"name":5,"programme_years":"4","thesis_classified":"true","birth_date":19900102,` +
				`"thesis_keywords":"a;b","gender":1,"enrolment_month":[2020,1]}` + "\n" +
				`{"thesis_keywords":[1,2]}`,
			want:   []string{"1:wrong_type,wrong_type,wrong_type,wrong_type,wrong_type,wrong_type,wrong_type", "2:wrong_type"},
			fields: [][]string{{"name", "programme_years", "thesis_classified", "birth_date", "thesis_keywords", "gender", "enrolment_month"}, {"thesis_keywords"}},
		},
		{
			name:    "bad values",
			in:      `{"birth_date":"2023-02-30","graduation_month":"2023-13","programme_years":4.5,"conferral_date":"2023-2-3","application_month":"202301"}`,
			want:    []string{"1:bad_date,bad_month,bad_integer,bad_date,bad_month"},
			fields:  [][]string{{"birth_date", "graduation_month", "programme_years", "conferral_date", "application_month"}},
			secrets: []string{"2023-02-30", "2023-2-3"},
		},
		{name: "duplicate key", in: `{"name":"a","name":"b"}`, want: []string{"1:duplicate_field"}, fields: [][]string{{"name"}}},
		{
			name: "malformed lines, reading goes on",
			in: `{"name":"zhang"` + "\n" + `{"name":"zhang",}` + "\n" + `["kind"]` + "\n" + `"kind"` + "\n" +
				`{"kind":"bachelor"} {"kind":"bachelor"}` + "\n" + `{"kind":"bachelor"}x` + "\n" + `{"kind":` + "\n" + `{"kind":"bachelor"}`,
			want:    []string{"1:bad_json", "2:bad_json", "3:bad_json", "4:bad_json", "5:bad_json", "6:bad_json", "7:bad_json", "8:"},
			secrets: []string{"zhang"},
			check: func(t *testing.T, rows []Row) {
				if m := rows[0].Problems[0].Message; !strings.Contains(m, "ends early") {
					t.Errorf("truncated object message %q", m)
				}
			},
		},
		{
			name: "not UTF-8 (GBK)",
			in:   `{"kind":"bachelor"}` + "\n\n" + `{"name":"` + gbk(t, "张三") + `"}` + "\n" + `{"kind":"bachelor"}`,
			want: []string{"1:", "3:not_utf8", "4:"},
			check: func(t *testing.T, rows []Row) {
				if m := rows[1].Problems[0].Message; !strings.Contains(m, "not UTF-8 at line 3") {
					t.Errorf("message %q", m)
				}
			},
		},
		{
			name: "over-long line skipped",
			in:   `{"kind":"bachelor"}` + "\n" + long + "\n" + `{"kind":"bachelor"}` + "\n" + long,
			opt:  Options{MaxLineBytes: 100},
			want: []string{"1:", "2:line_too_long", "3:", "4:line_too_long"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := readAll(t, tt.in, JSONL, tt.opt)
			checkOutcome(t, rows, err, tt.want, tt.err, tt.errLine, "", tt.secrets)
			if tt.fields != nil {
				var got [][]string
				for _, r := range rows {
					if len(r.Problems) == 0 {
						continue
					}
					var fs []string
					for _, p := range r.Problems {
						fs = append(fs, p.Field)
					}
					got = append(got, fs)
				}
				if !slices.EqualFunc(got, tt.fields, slices.Equal) {
					t.Errorf("problem fields %q, want %q", got, tt.fields)
				}
			}
			if tt.check != nil && !t.Failed() {
				tt.check(t, rows)
			}
		})
	}
}
