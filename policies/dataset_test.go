package policies

import (
	"errors"
	"testing"
	"time"
)

func TestCheckDataset(t *testing.T) {
	p := mustDefault(t)
	rules := p.Dataset()
	ok := DatasetRequest{
		Purpose:        "degree_quality_evaluation",
		Fields:         []string{"gender", "birth_date", "unit_code", "discipline_code", "status"},
		K:              rules.MinK,
		Sensitive:      []string{"status"},
		L:              rules.MinL,
		Term:           rules.MaxTerm,
		MaxSuppression: rules.MaxSuppression,
	}
	if err := p.CheckDataset(ok); err != nil {
		t.Fatalf("valid request: %v", err)
	}
	tests := []struct {
		name   string
		change func(r *DatasetRequest)
		want   error
	}{
		{"no purpose", func(r *DatasetRequest) { r.Purpose = "" }, ErrPurposeRequired},
		{"commercial", func(r *DatasetRequest) { r.Purpose = "commercial_use" }, ErrPurposeForbidden},
		{"re-identification", func(r *DatasetRequest) { r.Purpose = "re_identification" }, ErrPurposeForbidden},
		{"agency purpose", func(r *DatasetRequest) { r.Purpose = "employment_background_check" }, ErrPurposeRejected},
		{"unknown purpose", func(r *DatasetRequest) { r.Purpose = "curiosity" }, ErrPurposeRejected},
		{"no fields", func(r *DatasetRequest) { r.Fields = nil }, ErrDatasetRule},
		{"direct identifier", func(r *DatasetRequest) { r.Fields = append(r.Fields, "id_number") }, ErrDatasetRule},
		{"unknown field", func(r *DatasetRequest) { r.Fields = append(r.Fields, "shoe_size") }, ErrDatasetRule},
		{"field twice", func(r *DatasetRequest) { r.Fields = append(r.Fields, "gender") }, ErrDatasetRule},
		{"k below minimum", func(r *DatasetRequest) { r.K = rules.MinK - 1 }, ErrDatasetRule},
		{"term over maximum", func(r *DatasetRequest) { r.Term = rules.MaxTerm + time.Second }, ErrDatasetRule},
		{"no term", func(r *DatasetRequest) { r.Term = 0 }, ErrDatasetRule},
		{"too much suppression", func(r *DatasetRequest) { r.MaxSuppression = rules.MaxSuppression * 2 }, ErrDatasetRule},
		{"negative suppression", func(r *DatasetRequest) { r.MaxSuppression = -0.1 }, ErrDatasetRule},
		{"sensitive not requested", func(r *DatasetRequest) { r.Fields = r.Fields[:4] }, ErrDatasetRule},
		{"quasi-identifier as sensitive", func(r *DatasetRequest) { r.Sensitive = []string{"gender"} }, ErrDatasetRule},
		{"l below minimum", func(r *DatasetRequest) { r.L = rules.MinL - 1 }, ErrDatasetRule},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := ok
			req.Fields = append([]string(nil), ok.Fields...)
			tt.change(&req)
			if err := p.CheckDataset(req); !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func TestDatasetFieldsCarryHierarchies(t *testing.T) {
	for _, f := range mustDefault(t).Dataset().Fields {
		lf, _ := LookupField(f.Name)
		if (f.Role == RoleQuasiIdentifier) != (f.Hierarchy != "") {
			t.Errorf("%s: role %s, hierarchy %q", f.Name, f.Role, f.Hierarchy)
		}
		if f.NeverIfClassified != lf.NeverIfClassified {
			t.Errorf("%s: NeverIfClassified lost", f.Name)
		}
	}
}
