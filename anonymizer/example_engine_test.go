package anonymizer_test

import (
	"context"
	"fmt"
	"strings"

	"github.com/degreegate/degreegate/anonymizer"
)

// Two quasi-identifiers, one from an ARX-style table and one built in;
// k = 2 without suppression.
func Example() {
	zip, _ := anonymizer.ParseHierarchy(strings.NewReader(
		"47677;4767*;*\n47678;4767*;*\n47602;4760*;*\n47605;4760*;*\n"), ';')
	e, _ := anonymizer.New(anonymizer.Config{
		QIs: []anonymizer.QI{{Name: "gender"}, {Name: "zip", Hierarchy: zip}},
		K:   2,
	})
	for _, r := range [][]string{{"M", "47677"}, {"M", "47678"}, {"F", "47602"}, {"F", "47605"}} {
		e.Add(r, "", "")
	}
	res, err := e.Solve(context.Background())
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("levels", res.Levels, "NCP", res.Loss.NCP)
	for i := range res.RowCount() {
		v, _ := res.Row(i)
		fmt.Println(v)
	}
	// Output:
	// levels [0 1] NCP 0.16666666666666666
	// [M 4767*]
	// [M 4767*]
	// [F 4760*]
	// [F 4760*]
}
