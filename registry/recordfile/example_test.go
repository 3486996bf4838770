package recordfile_test

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/degreegate/degreegate/registry"
	"github.com/degreegate/degreegate/registry/recordfile"
)

func ExampleReader() {
	file := "kind,name,birth_date,thesis_title\n" +
		"bachelor,张三,2001-02-03,\"On commas, quotes (\"\") and\nline breaks\"\n" +
		"bachelor,李四,2023-02-30,\n" +
		"bachelor,王五\n"
	rd, err := recordfile.NewReader(strings.NewReader(file), recordfile.CSV, recordfile.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	for {
		row, err := rd.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil { // the file as a whole is unreadable from here on
			fmt.Println(err)
			return
		}
		if len(row.Problems) > 0 {
			for _, p := range row.Problems {
				fmt.Printf("line %d: %s\n", row.Line, p)
			}
			continue
		}
		fmt.Printf("line %d: %s, born %s, %q\n", row.Line, row.Record.Kind, row.Record.BirthDate, row.Record.ThesisTitle)
	}
	// Output:
	// line 2: bachelor, born 2001-02-03, "On commas, quotes (\") and\nline breaks"
	// line 4: birth_date: bad_date: want a date YYYY-MM-DD that exists
	// line 5: : field_count: want 4 fields as in the header, found 2
}

func ExampleWriter() {
	w, err := recordfile.NewWriter(os.Stdout, recordfile.JSONL)
	if err != nil {
		fmt.Println(err)
		return
	}
	r := registry.Record{Kind: registry.KindBachelor, Name: "张三", ThesisKeywords: []string{"a", "b"}}
	if err := w.Write(&r); err != nil {
		fmt.Println(err)
	}
	if err := w.Flush(); err != nil {
		fmt.Println(err)
	}
	// Output:
	// {"kind":"bachelor","name":"张三","gender":"","nationality":"","ethnicity":"","political_status":"","birth_date":"","id_type":"","id_number":"","unit_code":"","unit_name":"","president_name":"","committee_chair_name":"","degree_level":"","degree_type":"","degree_category":"","discipline_code":"","discipline_name":"","conferral_date":"","certificate_number":"","resolution_number":"","certificate_style":"","thesis_keywords":["a","b"],"thesis_classified":false,"status":""}
}
