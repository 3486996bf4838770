package filing

import (
	"errors"
	"testing"
	"time"
)

type regionTable map[string]string

func (t regionTable) UnitProvince(unit string) string { return t[unit] }

var (
	regions   = regionTable{"10001": "11", "10284": "32"}
	day0      = time.Date(2026, 6, 30, 0, 0, 0, 0, time.UTC)
	collector = Actor{Issuer: "https://idp.pku.example", Subject: "zhang", Kind: Unit, Code: "10001", Duties: []Duty{Collector}}
	checker   = Actor{Issuer: "https://idp.pku.example", Subject: "li", Kind: Unit, Code: "10001", Duties: []Duty{Checker}}
	both      = Actor{Issuer: "https://idp.pku.example", Subject: "zhang", Kind: Unit, Code: "10001", Duties: []Duty{Collector, Checker}}
	otherUnit = Actor{Issuer: "https://idp.nju.example", Subject: "wang", Kind: Unit, Code: "10284", Duties: []Duty{Collector, Checker}}
	beijing   = Actor{Issuer: "https://idp.gov.example", Subject: "zhao", Kind: Province, Code: "11"}
	jiangsu   = Actor{Issuer: "https://idp.gov.example", Subject: "qian", Kind: Province, Code: "32"}
	national  = Actor{Issuer: "https://idp.gov.example", Subject: "sun", Kind: National}
)

func record(s State) Record {
	return Record{CertificateNumber: "1000142026000001", UnitCode: "10001", State: s, Collector: collector.ID(),
		ResolutionEffective: day0, Since: day0.Add(5 * 24 * time.Hour)}
}

// TestTheWholeWay walks one record along the path the browser
// test takes: upload → check → submit → return → correct → check →
// submit → accept → change of a key field → province approves →
// national consent → revocation reported → confirmed.
func TestTheWholeWay(t *testing.T) {
	r := record(Draft)
	now := day0.Add(24 * time.Hour)
	steps := []struct {
		by     Actor
		act    Action
		reason string
		to     State
	}{
		{checker, ActCheck, "", Checked},
		{collector, ActSubmit, "", Submitted},
		{beijing, ActReturn, "第 3 行：学位授予日期与决议不符", Returned},
		{collector, ActCorrect, "", Draft},
		{checker, ActCheck, "", Checked},
		{checker, ActSubmit, "", Submitted},
		{beijing, ActAccept, "", Filed},
		{collector, ActRequestChange, "姓名录入错误（附身份证复印件）", ChangeRequested},
		{beijing, ActApproveChange, "", AwaitingConsent},
		{national, ActConsent, "", Filed},
		{collector, ActReportRevocation, "校学位评定委员会决议撤销", RevocationReported},
		{beijing, ActConfirmRevoke, "", Revoked},
	}
	versions := 0
	for i, st := range steps {
		if st.act == ActRequestChange {
			r.ChangesKeyField = true
		}
		s, err := Decide(r, st.by, st.act, st.reason, now, regions)
		if err != nil {
			t.Fatalf("step %d, %s by %s: %v", i+1, st.act, st.by.ID(), err)
		}
		if s.From != r.State || s.To != st.to {
			t.Fatalf("step %d, %s: %s → %s, want → %s", i+1, st.act, s.From, s.To, st.to)
		}
		if s.NewVersion {
			versions++
		}
		r.State = s.To
		if st.act == ActConfirmRevoke && !s.Revokes {
			t.Error("a confirmed revocation does not revoke")
		}
	}
	if versions != 2 {
		t.Errorf("%d new versions along the way, want 2 (the accepted submission, the consented change)", versions)
	}
}

// TestRefusals: the bad input, each refused with its code.
func TestRefusals(t *testing.T) {
	late := record(Checked)
	lateApproved := late
	lateApproved.LateApproved = true
	keyChange := record(ChangeRequested)
	keyChange.ChangesKeyField = true
	tests := []struct {
		name   string
		r      Record
		by     Actor
		act    Action
		reason string
		now    time.Time
		want   Code // "" when allowed
	}{
		{"checker is the collector", record(Draft), both, ActCheck, "", day0, CodeSamePerson},
		{"a collector cannot check", record(Draft), collector, ActCheck, "", day0, CodeWrongDuty},
		{"another unit checks", record(Draft), otherUnit, ActCheck, "", day0, CodeOutOfScope},
		{"another unit submits", record(Checked), otherUnit, ActSubmit, "", day0, CodeOutOfScope},
		{"a province outside the region accepts", record(Submitted), jiangsu, ActAccept, "", day0, CodeOutOfScope},
		{"a province of an unknown unit", Record{UnitCode: "99999", State: Submitted}, beijing, ActAccept, "", day0, CodeOutOfScope},
		{"a unit accepts its own", record(Submitted), both, ActAccept, "", day0, CodeWrongOrg},
		{"the national office reviews", record(Submitted), national, ActAccept, "", day0, CodeWrongOrg},
		{"return without a reason", record(Submitted), beijing, ActReturn, "", day0, CodeReasonRequired},
		{"submitted on the last day", late, checker, ActSubmit, "", day0.Add(SubmitWithin), ""},
		{"submitted a day late", late, checker, ActSubmit, "", day0.Add(SubmitWithin + 24*time.Hour), CodeLate},
		{"late, with an approved application", lateApproved, checker, ActSubmit, "", day0.Add(90 * 24 * time.Hour), ""},
		{"a key field without national consent", keyChange, beijing, ActConsent, "", day0, CodeNotFromState},
		{"a province consents in the office's place", Record{UnitCode: "10001", State: AwaitingConsent}, beijing, ActConsent, "", day0, CodeWrongOrg},
		{"submitted twice", record(Submitted), checker, ActSubmit, "", day0, CodeNotFromState},
		{"filed records are not withdrawn", record(Filed), collector, ActWithdraw, "不再需要", day0, CodeNotFromState},
		{"a unit revokes directly", record(Filed), both, ActRevoke, "决议撤销", day0, CodeWrongOrg},
		{"the national office revokes directly", record(Filed), national, ActRevoke, "决议撤销", day0, ""},
		{"revocation without the resolution's reason", record(Filed), collector, ActReportRevocation, "", day0, CodeReasonRequired},
		{"an unknown action", record(Filed), national, Action("erase"), "", day0, CodeUnknownAction},
		{"deleted stays deleted", record(Deleted), national, ActRevoke, "x", day0, CodeNotFromState},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decide(tt.r, tt.by, tt.act, tt.reason, tt.now, regions)
			var fe *Error
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tt.want != "" && !errors.As(err, &fe):
				t.Fatalf("err = %v, want %s", err, tt.want)
			case tt.want != "" && fe.Code != tt.want:
				t.Fatalf("code %s (%v), want %s", fe.Code, err, tt.want)
			}
		})
	}
}

// TestOnlyTheRulesMove: from every state, every action the rules do not
// list for it is refused as not allowed from that state, whoever asks.
func TestOnlyTheRulesMove(t *testing.T) {
	states := States()
	allowed := map[State]map[Action]bool{}
	actions := map[Action]bool{}
	for _, ru := range rules {
		if allowed[ru.from] == nil {
			allowed[ru.from] = map[Action]bool{}
		}
		allowed[ru.from][ru.action] = true
		actions[ru.action] = true
	}
	moved := 0
	for _, s := range states {
		for act := range actions {
			for _, by := range []Actor{both, beijing, national} {
				_, err := Decide(record(s), by, act, "理由", day0, regions)
				var fe *Error
				if err != nil && !errors.As(err, &fe) {
					t.Fatalf("%s on %s: not an *Error: %v", act, s, err)
				}
				if !allowed[s][act] {
					if err == nil || fe.Code != CodeNotFromState {
						t.Errorf("%s on a %s record by a %s: %v, want %s", act, s, by.Kind, err, CodeNotFromState)
					}
				} else if err == nil {
					moved++
				}
			}
		}
	}
	if moved < len(rules)-2 {
		t.Errorf("only %d of %d rules could be taken at all", moved, len(rules))
	}
	for _, s := range []State{Withdrawn, Deleted, Revoked} {
		if len(allowed[s]) != 0 {
			t.Errorf("%s is an end state, but %v lead out of it", s, allowed[s])
		}
	}
}

func TestVisibility(t *testing.T) {
	for s, want := range map[State]bool{Draft: false, Checked: false, Submitted: false, Returned: false, Withdrawn: false,
		Filed: true, ChangeRequested: true, AwaitingConsent: true, DeletionRequested: true, RevocationReported: true,
		Revoked: true, Deleted: false} {
		if s.Visible() != want {
			t.Errorf("%s visible = %v, want %v", s, s.Visible(), want)
		}
	}
}

func TestOverdue(t *testing.T) {
	lateApproved := record(Checked)
	lateApproved.LateApproved = true
	tests := []struct {
		name string
		r    Record
		now  time.Time
		late bool
	}{
		{"draft within 30 days", record(Draft), day0.Add(SubmitWithin), false},
		{"draft after 30 days", record(Draft), day0.Add(SubmitWithin + time.Hour), true},
		{"late submission approved", lateApproved, day0.Add(365 * 24 * time.Hour), false},
		{"review within 30 days", record(Submitted), record(Submitted).Since.Add(ReviewWithin), false},
		{"review overdue", record(Submitted), record(Submitted).Since.Add(ReviewWithin + time.Minute), true},
		{"change undecided", record(ChangeRequested), record(ChangeRequested).Since.Add(DecideWithin + time.Hour), true},
		{"filed is never overdue", record(Filed), day0.Add(10 * 365 * 24 * time.Hour), false},
	}
	for _, tt := range tests {
		if late, _ := Overdue(tt.r, tt.now); late != tt.late {
			t.Errorf("%s: overdue = %v, want %v", tt.name, late, tt.late)
		}
	}
}
