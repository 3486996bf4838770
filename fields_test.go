package degreegate_test

import (
	"testing"

	"github.com/degreegate/degreegate/policies"
	"github.com/degreegate/degreegate/registry"
)

// policies is core and may not import registry, so it keeps its own
// catalogue of the record's fields (with what only a policy needs: group,
// class, which fields Art. 25 withholds). This test, the one place that
// sees both, holds the catalogue to registry.Fields: same names in the
// same order, matching shapes, and every sealed identifier a direct
// identifier. A field added to the record fails here until policies
// knows how to treat it.
func TestPolicyFieldsFollowTheRegistry(t *testing.T) {
	shape := map[policies.FieldKind]registry.FieldKind{
		policies.KindText: registry.FieldText, policies.KindName: registry.FieldText, policies.KindCode: registry.FieldText,
		policies.KindDate: registry.FieldDate, policies.KindMonth: registry.FieldMonth, policies.KindNumber: registry.FieldInt,
		policies.KindFlag: registry.FieldBool, policies.KindList: registry.FieldList,
	}
	reg, pol := registry.Fields(), policies.Fields()
	for i := range max(len(reg), len(pol)) {
		if i >= len(reg) || i >= len(pol) {
			t.Fatalf("registry has %d fields, policies %d", len(reg), len(pol))
		}
		r, p := reg[i], pol[i]
		if r.Name != p.Name {
			t.Fatalf("field %d: registry has %s, policies %s", i, r.Name, p.Name)
		}
		if k, ok := shape[p.Kind]; !ok || k != r.Kind {
			t.Errorf("%s: policies' kind %s does not fit the registry's shape %d", p.Name, p.Kind, r.Kind)
		}
		if r.Secret && p.Class != policies.DirectIdentifier {
			t.Errorf("%s is sealed in the registry, yet policies class it %s", p.Name, p.Class)
		}
	}
	if flag, ok := policies.LookupField(policies.ClassifiedFlag); !ok || flag.Kind != policies.KindFlag {
		t.Errorf("the classified flag %s is not a flag field", policies.ClassifiedFlag)
	}
}
