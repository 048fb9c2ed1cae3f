package storage_test

import (
	"context"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/okrbot/okrbot/okr"
	"github.com/okrbot/okrbot/storage"
)

// mustUpdate records an off-cycle update of a key result by user at at and
// returns its id.
func mustUpdate(tb testing.TB, s *storage.Store, krID int64, user string, value float64, confidence int, at time.Time) int64 {
	tb.Helper()
	ctx := context.Background()
	a := okr.CheckinAnswer{UserID: user, At: at, Updates: []okr.KRUpdate{{
		KeyResultID: krID, Value: value, Confidence: confidence,
		Status: okr.ConfidenceStatus(confidence), Comment: fmt.Sprintf("at %s", at.Format(time.Kitchen)),
	}}}
	if ok, err := s.RecordCheckin(ctx, a); err != nil || !ok {
		tb.Fatalf("record update: got %v, %v", ok, err)
	}
	var id int64
	if err := s.DB().GetContext(ctx, &id, `SELECT max(id) FROM kr_updates WHERE key_result_id = $1`, krID); err != nil {
		tb.Fatal(err)
	}
	return id
}

// mustKeyResult returns a key result as stored.
func mustKeyResult(tb testing.TB, s *storage.Store, id int64) *okr.OwnedKeyResult {
	tb.Helper()
	kr, err := s.KeyResult(context.Background(), id)
	if err != nil {
		tb.Fatal(err)
	}
	return kr
}

// historyLine is what the tests compare of a history entry: its id, value,
// what it corrects and what corrects it (0 for none).
type historyLine struct {
	ID, Corrects, CorrectedBy int64
	Value                     float64
}

func historyLines(tb testing.TB, s *storage.Store, krID int64, limit int) []historyLine {
	tb.Helper()
	es, err := s.KRHistory(context.Background(), krID, limit)
	if err != nil {
		tb.Fatal(err)
	}
	out := make([]historyLine, len(es))
	for i, e := range es {
		out[i] = historyLine{ID: e.ID, Value: e.Value}
		if e.CorrectsID != nil {
			out[i].Corrects = *e.CorrectsID
		}
		if e.CorrectedByID != nil {
			out[i].CorrectedBy = *e.CorrectedByID
		}
	}
	return out
}

func wantHistory(tb testing.TB, got, want []historyLine) {
	tb.Helper()
	if fmt.Sprint(got) != fmt.Sprint(want) {
		tb.Errorf("history:\n got %+v\nwant %+v", got, want)
	}
}

func TestKRHistoryAndCorrections(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	user := unique("U")
	team := mustCreateTeam(t, s, user)
	o := newObjective(team.ID, user, metricKR(user, 12, 4))
	mustCreateObjective(t, s, o, q1)
	krID := o.KeyResults[0].ID

	if es, err := s.KRHistory(ctx, krID, 10); err != nil || len(es) != 0 {
		t.Fatalf("history of a new key result: got %v, %v, want none", es, err)
	}
	first := mustUpdate(t, s, krID, user, 10, 6, now.Add(-2*time.Hour))
	second := mustUpdate(t, s, krID, user, 8, 5, now.Add(-time.Hour))
	wantHistory(t, historyLines(t, s, krID, 10), []historyLine{{ID: second, Value: 8}, {ID: first, Value: 10}})

	correct := func(t *testing.T, id int64, value float64, confidence int) (*okr.KRUpdate, bool) {
		t.Helper()
		u := &okr.KRUpdate{CorrectsID: &id, Value: value, Confidence: confidence, Comment: "fixed", UserID: user}
		followed, err := s.CorrectKRUpdate(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		return u, followed
	}

	var fix *okr.KRUpdate
	t.Run("the latest report: the key result follows", func(t *testing.T) {
		var followed bool
		fix, followed = correct(t, second, 7, 8)
		if !followed {
			t.Error("followed: got false, want true")
		}
		if fix.ID == 0 || fix.KeyResultID != krID || fix.Status != okr.OnTrack || !fix.CreatedAt.Equal(now) || fix.CheckinID != nil {
			t.Errorf("correction: got %+v", fix)
		}
		if kr := mustKeyResult(t, s, krID); kr.Current != 7 || kr.Confidence != 8 {
			t.Errorf("key result: got %v at confidence %d, want 7 at 8", kr.Current, kr.Confidence)
		}
		old, err := s.KRUpdate(ctx, second)
		if err != nil {
			t.Fatal(err)
		}
		if old.Value != 8 || old.Confidence != 5 || old.CorrectsID != nil {
			t.Errorf("the corrected update changed: got %+v", old)
		}
		got, err := s.KRUpdate(ctx, fix.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.CorrectsID == nil || *got.CorrectsID != second || got.Value != 7 || got.Comment != "fixed" || got.UserID != user {
			t.Errorf("correction as stored: got %+v", got)
		}
		wantHistory(t, historyLines(t, s, krID, 10), []historyLine{
			{ID: fix.ID, Corrects: second, Value: 7},
			{ID: second, CorrectedBy: fix.ID, Value: 8},
			{ID: first, Value: 10},
		})
	})

	t.Run("corrected twice", func(t *testing.T) {
		u := &okr.KRUpdate{CorrectsID: &second, Value: 6, Confidence: 8, UserID: user}
		_, err := s.CorrectKRUpdate(ctx, u)
		wantCode(t, err, okr.ECONFLICT)
		if u.ID != 0 {
			t.Errorf("id of a refused correction: got %d, want 0", u.ID)
		}
	})

	var older *okr.KRUpdate
	t.Run("an older report: the key result stays", func(t *testing.T) {
		var followed bool
		older, followed = correct(t, first, 11, 6)
		if followed {
			t.Error("followed: got true, want false")
		}
		if kr := mustKeyResult(t, s, krID); kr.Current != 7 || kr.Confidence != 8 {
			t.Errorf("key result: got %v at confidence %d, want still 7 at 8", kr.Current, kr.Confidence)
		}
	})

	t.Run("a correction of the correction", func(t *testing.T) {
		again, followed := correct(t, fix.ID, 6.5, 7)
		if !followed {
			t.Error("followed: got false, want true")
		}
		if kr := mustKeyResult(t, s, krID); kr.Current != 6.5 || kr.Confidence != 7 {
			t.Errorf("key result: got %v at confidence %d, want 6.5 at 7", kr.Current, kr.Confidence)
		}
		want := []historyLine{
			{ID: again.ID, Corrects: fix.ID, Value: 6.5},
			{ID: fix.ID, Corrects: second, CorrectedBy: again.ID, Value: 7},
			{ID: second, CorrectedBy: fix.ID, Value: 8},
			{ID: older.ID, Corrects: first, Value: 11},
			{ID: first, CorrectedBy: older.ID, Value: 10},
		}
		wantHistory(t, historyLines(t, s, krID, 10), want)
		wantHistory(t, historyLines(t, s, krID, 2), want[:2])
	})

	t.Run("a new report is the latest", func(t *testing.T) {
		third := mustUpdate(t, s, krID, user, 5, 7, now.Add(time.Minute))
		if _, followed := correct(t, older.ID, 12, 3); followed {
			t.Error("correcting an older report after a new one: followed, want not")
		}
		if kr := mustKeyResult(t, s, krID); kr.Current != 5 || kr.Confidence != 7 {
			t.Errorf("key result: got %v at confidence %d, want the new report's 5 at 7", kr.Current, kr.Confidence)
		}
		if got := historyLines(t, s, krID, 1); len(got) != 1 || got[0].ID != third {
			t.Errorf("newest first: got %+v, want %d", got, third)
		}
	})

	t.Run("invalid", func(t *testing.T) {
		last := historyLines(t, s, krID, 1)[0].ID
		missing := int64(-1)
		tests := []struct {
			name string
			u    okr.KRUpdate
			code string
		}{
			{"confidence 0", okr.KRUpdate{CorrectsID: &last, Value: 1, Confidence: 0}, okr.EINVALID},
			{"confidence 11", okr.KRUpdate{CorrectsID: &last, Value: 1, Confidence: 11}, okr.EINVALID},
			{"not a number", okr.KRUpdate{CorrectsID: &last, Value: math.NaN(), Confidence: 5}, okr.EINVALID},
			{"infinite", okr.KRUpdate{CorrectsID: &last, Value: math.Inf(1), Confidence: 5}, okr.EINVALID},
			{"no update", okr.KRUpdate{CorrectsID: &missing, Value: 1, Confidence: 5}, okr.ENOTFOUND},
			{"nothing corrected", okr.KRUpdate{Value: 1, Confidence: 5}, okr.EINVALID},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				u := tt.u
				u.UserID = user
				_, err := s.CorrectKRUpdate(ctx, &u)
				wantCode(t, err, tt.code)
			})
		}
		if kr := mustKeyResult(t, s, krID); kr.Current != 5 || kr.Confidence != 7 {
			t.Errorf("key result after refused corrections: got %v at %d, want 5 at 7", kr.Current, kr.Confidence)
		}
	})
}

func TestCorrectionOfMilestoneCheckinAndAlert(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	user := unique("U")
	team := mustCreateTeam(t, s, user)
	milestone := okr.KeyResult{Title: unique("Launch "), OwnerID: user, Kind: okr.Milestone}
	o := newObjective(team.ID, user, milestone)
	mustCreateObjective(t, s, o, q1)
	krID := o.KeyResults[0].ID

	// A check-in reports it done but off track: an off-track alert opens.
	c := mustCreateCheckin(t, s, team.ID, user, now.Add(-time.Hour))
	ok, err := s.RecordCheckin(ctx, okr.CheckinAnswer{CheckinID: &c.ID, UserID: user, At: now.Add(-time.Minute),
		Updates: []okr.KRUpdate{{KeyResultID: krID, Value: 1, Confidence: 2, Status: okr.OffTrack}}})
	if err != nil || !ok {
		t.Fatalf("check-in: got %v, %v", ok, err)
	}
	if n := openAlerts(t, s, "kr", krID); n != 1 {
		t.Fatalf("open alerts after an off-track report: got %d, want 1", n)
	}
	reported := historyLines(t, s, krID, 1)[0].ID

	half := &okr.KRUpdate{CorrectsID: &reported, Value: 0.5, Confidence: 8, UserID: user}
	_, err = s.CorrectKRUpdate(ctx, half)
	wantCode(t, err, okr.EINVALID)

	fix := &okr.KRUpdate{CorrectsID: &reported, Value: 0, Confidence: 8, UserID: user, Comment: "not launched yet"}
	followed, err := s.CorrectKRUpdate(ctx, fix)
	if err != nil || !followed {
		t.Fatalf("correction: got %v, %v, want it followed", followed, err)
	}
	if fix.CheckinID == nil || *fix.CheckinID != c.ID {
		t.Errorf("the correction's check-in: got %v, want %d", fix.CheckinID, c.ID)
	}
	if kr := mustKeyResult(t, s, krID); kr.Current != 0 || kr.Confidence != 8 {
		t.Errorf("key result: got %v at %d, want 0 at 8", kr.Current, kr.Confidence)
	}
	if n := openAlerts(t, s, "kr", krID); n != 0 {
		t.Errorf("open alerts after correcting to on track: got %d, want 0", n)
	}
}

func TestCorrectionOfKPIFollower(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	user := unique("U")
	team := mustCreateTeam(t, s, user)
	o := newObjective(team.ID, user, metricKR(user, 0, 100))
	mustCreateObjective(t, s, o, q1)
	krID := o.KeyResults[0].ID
	k := mustNewKPI(t, s, team.ID, user)
	if err := s.LinkKeyResult(ctx, krID, k.ID); err != nil {
		t.Fatal(err)
	}
	reported := mustUpdate(t, s, krID, user, 40, 5, now.Add(-time.Hour))
	// A reading since the report moves the value (the store's clock is now).
	mustRecord(t, s, k.ID, user, 97)

	fix := &okr.KRUpdate{CorrectsID: &reported, Value: 45, Confidence: 7, UserID: user}
	followed, err := s.CorrectKRUpdate(ctx, fix)
	if err != nil || !followed {
		t.Fatalf("correction: got %v, %v", followed, err)
	}
	if kr := mustKeyResult(t, s, krID); kr.Current != 97 || kr.Confidence != 7 {
		t.Errorf("key result: got %v at %d, want the reading's 97 at the correction's 7", kr.Current, kr.Confidence)
	}
}

func TestKeyResultsAtRisk(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	lead, member, stranger := unique("U"), unique("U"), unique("U")
	team := mustCreateTeam(t, s, lead)
	if _, err := s.AddMembers(ctx, team.ID, []string{member}, okr.RoleMember, lead); err != nil {
		t.Fatal(err)
	}
	other := mustCreateTeam(t, s, stranger)
	krs := []okr.KeyResult{metricKR(lead, 0, 10), metricKR(member, 0, 10), metricKR(lead, 0, 10), metricKR(member, 0, 10)}
	krs[0].Confidence, krs[1].Confidence, krs[2].Confidence, krs[3].Confidence = 6, 2, 8, 0
	o := newObjective(team.ID, lead, krs...)
	mustCreateObjective(t, s, o, q1)
	theirs := newObjective(other.ID, stranger, metricKR(stranger, 0, 10))
	theirs.KeyResults[0].Confidence = 1
	mustCreateObjective(t, s, theirs, q1)
	closed := newObjective(team.ID, lead, metricKR(lead, 0, 10))
	closed.KeyResults[0].Confidence = 3
	closed.Status = okr.Closed
	mustCreateObjective(t, s, closed, q1)

	got, err := s.KeyResultsAtRisk(ctx, member, now, 10)
	if err != nil {
		t.Fatal(err)
	}
	var ids []int64
	for _, kr := range got {
		ids = append(ids, kr.ID)
		if kr.TeamName != team.Name || kr.ObjectiveTitle != o.Title {
			t.Errorf("key result %d: got team %q and objective %q", kr.ID, kr.TeamName, kr.ObjectiveTitle)
		}
	}
	want := []int64{o.KeyResults[1].ID, o.KeyResults[0].ID}
	if fmt.Sprint(ids) != fmt.Sprint(want) {
		t.Errorf("at risk: got %v, want %v (least confident first; none on track, unreported, closed or of other teams)", ids, want)
	}
	if got, err := s.KeyResultsAtRisk(ctx, member, now, 1); err != nil || len(got) != 1 {
		t.Errorf("limit 1: got %d, %v", len(got), err)
	}
	if got, err := s.KeyResultsAtRisk(ctx, unique("U"), now, 10); err != nil || len(got) != 0 {
		t.Errorf("someone in no team: got %v, %v, want none", got, err)
	}
}
