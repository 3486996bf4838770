package policies_test

import (
	"errors"
	"fmt"

	"github.com/degreegate/degreegate/policies"
)

// The gateway asks the policy about one call and masks each record with
// the decision.
func Example() {
	p, err := policies.Default()
	if err != nil {
		panic(err)
	}
	d, err := p.Decide(policies.Request{Audience: policies.Public, Scope: policies.ScopeVerify})
	if err != nil {
		panic(err)
	}
	record := map[string]string{
		"name": "张三丰", "id_number": "110105199003071234", "unit_name": "北京大学",
		"degree_level": "master", "conferral_date": "2019-06-30", "status": "filed",
	}
	out, err := d.Apply(policies.MapSource(record), policies.ApplyOptions{})
	if err != nil {
		panic(err)
	}
	for _, f := range out.Fields() {
		fmt.Printf("%s: %s\n", f, out[f])
	}
	fmt.Println("legal basis:", d.LegalBasis)
	// Output:
	// conferral_date: 2019-06
	// degree_level: master
	// name: 张*丰
	// status: filed
	// unit_name: 北京大学
	// legal basis: Art. 22
}

// A holder's token on the agency interface gets no agency decision.
func ExamplePolicy_Decide_denied() {
	p, _ := policies.Default()
	_, err := p.Decide(policies.Request{
		Audience: policies.Holder,
		Scope:    policies.ScopeVerifyBatch,
		Granted:  policies.ParseScopes("degree.verify.batch holder.read"),
		Purpose:  "employment_background_check",
	})
	var denied *policies.DeniedError
	fmt.Println(errors.Is(err, policies.ErrScopeDenied), errors.As(err, &denied) && denied.Code() == "scope-denied")
	// Output: true true
}

func ExampleMask_Apply() {
	for _, v := range []struct {
		m policies.Mask
		s string
	}{
		{policies.MaskName, "欧阳娜娜"},
		{policies.MaskName, "阿依古丽·买买提"},
		{policies.MaskName, "John Smith"},
		{policies.MaskIDNumber, "11010519900307123X"},
		{policies.MaskPhone, "13800138000"},
		{policies.MaskEmail, "zhangsan@example.com"},
	} {
		out, _ := v.m.Apply(v.s, policies.ApplyOptions{})
		fmt.Println(out)
	}
	// Output:
	// 欧阳*娜
	// 阿***·买**
	// J*** S****
	// 110*************3X
	// 138****8000
	// z***@example.com
}
