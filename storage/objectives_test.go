package storage_test

import (
	"context"
	"errors"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/okrbot/okrbot/okr"
	"github.com/okrbot/okrbot/storage"
)

var (
	q1 = mustPeriod("2027-Q1")
	q2 = mustPeriod("2027-Q2")
)

func mustPeriod(label string) okr.Period {
	p, err := okr.ParsePeriod(label, time.April, time.UTC)
	if err != nil {
		panic(err)
	}
	return p
}

// newObjective returns a valid objective of team owned by owner, with the
// given key results.
func newObjective(teamID int64, owner string, krs ...okr.KeyResult) *okr.Objective {
	return &okr.Objective{
		TeamID:      teamID,
		Title:       unique("Delight customers "),
		Description: "Support that people remember.",
		OwnerID:     owner,
		Kind:        okr.Committed,
		CreatedBy:   owner,
		KeyResults:  krs,
	}
}

func metricKR(owner string, start, target float64) okr.KeyResult {
	return okr.KeyResult{
		Title: unique("Reduce first response time "), OwnerID: owner, Kind: okr.Metric,
		Unit: "h", Start: start, Target: target, Current: start,
	}
}

func mustCreateObjective(tb testing.TB, s *storage.Store, o *okr.Objective, p okr.Period) {
	tb.Helper()
	if err := s.CreateObjective(context.Background(), o, p); err != nil {
		tb.Fatal(err)
	}
}

func TestObjectives(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)

	t.Run("round trip", func(t *testing.T) {
		lead := unique("U")
		team := mustCreateTeam(t, s, lead)
		parent := newObjective(team.ID, lead)
		mustCreateObjective(t, s, parent, q1)

		kpiOwner := unique("U")
		o := newObjective(team.ID, lead,
			metricKR(lead, 12, 4),
			okr.KeyResult{Title: "Ship the help centre", OwnerID: kpiOwner, Kind: okr.Milestone, Start: 0, Target: 1, Current: 1, Confidence: 7},
			okr.KeyResult{Title: "Grow NPS", OwnerID: lead, Kind: okr.Metric, Unit: "%", Start: -12.5, Target: 30.25, Current: 3.125, Confidence: 4},
		)
		o.Kind = okr.Aspirational
		o.ParentID = &parent.ID
		mustCreateObjective(t, s, o, q1)
		if o.ID == 0 || o.Period != "2027-Q1" || o.Status != okr.Active || !o.CreatedAt.Equal(now) {
			t.Errorf("after create: got ID %d, period %q, status %q, created %v; want an ID, 2027-Q1, active, %v", o.ID, o.Period, o.Status, o.CreatedAt, now)
		}
		for i, kr := range o.KeyResults {
			if kr.ID == 0 || kr.ObjectiveID != o.ID {
				t.Errorf("key result %d: got ID %d, objective %d; want an ID and %d", i, kr.ID, kr.ObjectiveID, o.ID)
			}
		}

		got, err := s.Objective(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Title != o.Title || got.Description != o.Description || got.OwnerID != lead || got.TeamID != team.ID ||
			got.Period != "2027-Q1" || got.Kind != okr.Aspirational || got.Status != okr.Active ||
			got.CreatedBy != lead || !got.CreatedAt.Equal(now) {
			t.Errorf("Objective: got %+v, want %+v", got, o)
		}
		if got.ParentID == nil || *got.ParentID != parent.ID {
			t.Errorf("ParentID: got %v, want %d", got.ParentID, parent.ID)
		}
		if len(got.KeyResults) != len(o.KeyResults) {
			t.Fatalf("key results: got %d, want %d", len(got.KeyResults), len(o.KeyResults))
		}
		for i, want := range o.KeyResults {
			kr := got.KeyResults[i]
			if kr.ID != want.ID || kr.ObjectiveID != o.ID || kr.Title != want.Title || kr.OwnerID != want.OwnerID ||
				kr.Kind != want.Kind || kr.Unit != want.Unit || kr.Start != want.Start || kr.Target != want.Target ||
				kr.Current != want.Current || kr.Confidence != want.Confidence || kr.KPIID != nil ||
				!kr.CreatedAt.Equal(now) || !kr.UpdatedAt.Equal(now) {
				t.Errorf("key result %d: got %+v, want %+v", i, kr, want)
			}
		}
		if p := got.Progress(); math.Abs(p-(0+1+(3.125+12.5)/(30.25+12.5))/3) > 1e-9 {
			t.Errorf("progress: got %v", p)
		}
	})

	t.Run("not found", func(t *testing.T) {
		_, err := s.Objective(ctx, -1)
		wantCode(t, err, okr.ENOTFOUND)
	})

	t.Run("unknown team", func(t *testing.T) {
		err := s.CreateObjective(ctx, newObjective(-1, unique("U")), q1)
		wantCode(t, err, okr.ENOTFOUND)
	})

	t.Run("target equal to start is refused by the database", func(t *testing.T) {
		lead := unique("U")
		team := mustCreateTeam(t, s, lead)
		o := newObjective(team.ID, lead, metricKR(lead, 1, 2), metricKR(lead, 5, 5))
		err := s.CreateObjective(ctx, o, q1)
		wantCode(t, err, okr.EINVALID)
		if o.ID != 0 || o.KeyResults[0].ID != 0 {
			t.Errorf("IDs after a failed create: got objective %d, key result %d; want 0, 0", o.ID, o.KeyResults[0].ID)
		}
		objs, err := s.ObjectivesByTeam(ctx, team.ID, "2027-Q1")
		if err != nil {
			t.Fatal(err)
		}
		if len(objs) != 0 {
			t.Errorf("objectives after a failed create: got %d, want 0 (rolled back)", len(objs))
		}
	})

	t.Run("by team filters by period", func(t *testing.T) {
		lead := unique("U")
		team := mustCreateTeam(t, s, lead)
		other := mustCreateTeam(t, s, lead)
		a := newObjective(team.ID, lead, metricKR(lead, 0, 10))
		b := newObjective(team.ID, lead)
		c := newObjective(team.ID, lead, metricKR(lead, 0, 10))
		d := newObjective(other.ID, lead)
		mustCreateObjective(t, s, a, q1)
		mustCreateObjective(t, s, b, q2)
		mustCreateObjective(t, s, c, q1)
		mustCreateObjective(t, s, d, q1)

		objs, err := s.ObjectivesByTeam(ctx, team.ID, "2027-Q1")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ids(objs), []int64{a.ID, c.ID}; !slices.Equal(got, want) {
			t.Errorf("2027-Q1: got %v, want %v", got, want)
		}
		for _, o := range objs {
			if len(o.KeyResults) != 1 || o.KeyResults[0].ObjectiveID != o.ID {
				t.Errorf("objective %d: got key results %+v, want its one", o.ID, o.KeyResults)
			}
		}
		objs, err = s.ObjectivesByTeam(ctx, team.ID, "2027-Q2")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ids(objs), []int64{b.ID}; !slices.Equal(got, want) {
			t.Errorf("2027-Q2: got %v, want %v", got, want)
		}
		if objs[0].KeyResults == nil {
			t.Errorf("key results of an objective without any: got nil, want empty")
		}
		objs, err = s.ObjectivesByTeam(ctx, team.ID, "2031-Q3")
		if err != nil {
			t.Fatal(err)
		}
		if objs == nil || len(objs) != 0 {
			t.Errorf("unknown period: got %#v, want an empty slice", objs)
		}
	})

	t.Run("by owner includes key results owned", func(t *testing.T) {
		lead, user := unique("U"), unique("U")
		team := mustCreateTeam(t, s, lead)
		owned := newObjective(team.ID, user)
		krOnly := newObjective(team.ID, lead, metricKR(lead, 0, 1), metricKR(user, 0, 1))
		neither := newObjective(team.ID, lead, metricKR(lead, 0, 1))
		otherPeriod := newObjective(team.ID, user)
		mustCreateObjective(t, s, owned, q1)
		mustCreateObjective(t, s, krOnly, q1)
		mustCreateObjective(t, s, neither, q1)
		mustCreateObjective(t, s, otherPeriod, q2)

		objs, err := s.ObjectivesByOwner(ctx, user, "2027-Q1")
		if err != nil {
			t.Fatal(err)
		}
		if got, want := ids(objs), []int64{owned.ID, krOnly.ID}; !slices.Equal(got, want) {
			t.Fatalf("ObjectivesByOwner: got %v, want %v", got, want)
		}
		if got := len(objs[1].KeyResults); got != 2 {
			t.Errorf("key results of the objective where the user owns one: got %d, want all 2", got)
		}
	})

	t.Run("same period label reused", func(t *testing.T) {
		lead := unique("U")
		team := mustCreateTeam(t, s, lead)
		for range 2 {
			mustCreateObjective(t, s, newObjective(team.ID, lead), q2)
		}
		var n int
		if err := s.DB().GetContext(ctx, &n, `SELECT count(*) FROM periods WHERE label = '2027-Q2'`); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("period rows for 2027-Q2: got %d, want 1", n)
		}
	})

	t.Run("first objectives of a new period, at once", func(t *testing.T) {
		lead := unique("U")
		team := mustCreateTeam(t, s, lead)
		q := mustPeriod("2031-Q2")
		var wg sync.WaitGroup
		errs := make([]error, 8)
		for i := range errs {
			wg.Go(func() { errs[i] = s.CreateObjective(ctx, newObjective(team.ID, lead, metricKR(lead, 0, 1)), q) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		objs, err := s.ObjectivesByTeam(ctx, team.ID, "2031-Q2")
		if err != nil || len(objs) != len(errs) {
			t.Fatalf("objectives: got %d, %v, want %d", len(objs), err, len(errs))
		}
		var n int
		if err := s.DB().GetContext(ctx, &n, `SELECT count(*) FROM periods WHERE label = '2031-Q2'`); err != nil || n != 1 {
			t.Errorf("period rows: got %d, %v, want 1", n, err)
		}
	})

	t.Run("active objectives of teams", func(t *testing.T) {
		lead := unique("U")
		team, other, third := mustCreateTeam(t, s, lead), mustCreateTeam(t, s, lead), mustCreateTeam(t, s, lead)
		a := newObjective(other.ID, lead, metricKR(lead, 0, 1))
		b := newObjective(team.ID, lead)
		closed := newObjective(team.ID, lead)
		year := newObjective(team.ID, lead)
		later := newObjective(team.ID, lead)
		elsewhere := newObjective(third.ID, lead)
		for _, o := range []*okr.Objective{a, b, closed, elsewhere} {
			mustCreateObjective(t, s, o, q1)
		}
		mustCreateObjective(t, s, year, mustPeriod("2027"))
		mustCreateObjective(t, s, later, q2)
		mustExec(t, s, `UPDATE objectives SET status = 'closed' WHERE id = $1`, closed.ID)

		objs, err := s.ActiveObjectives(ctx, []int64{team.ID, other.ID}, []string{"2027-Q1", "2027"})
		if err != nil {
			t.Fatal(err)
		}
		want := []int64{b.ID, year.ID, a.ID}
		if team.ID > other.ID {
			want = []int64{a.ID, b.ID, year.ID}
		}
		if got := ids(objs); !slices.Equal(got, want) {
			t.Errorf("got %v, want %v (by team, oldest first; not closed, not 2027-Q2, not a third team's)", got, want)
		}
	})

	t.Run("no period", func(t *testing.T) {
		lead := unique("U")
		team := mustCreateTeam(t, s, lead)
		err := s.CreateObjective(ctx, newObjective(team.ID, lead), okr.Period{})
		wantCode(t, err, okr.EINVALID)
	})
}

func TestCreateKeyResult(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)

	t.Run("appended in order", func(t *testing.T) {
		lead := unique("U")
		team := mustCreateTeam(t, s, lead)
		o := newObjective(team.ID, lead, metricKR(lead, 0, 1), metricKR(lead, 0, 2))
		mustCreateObjective(t, s, o, q1)

		var added []int64
		for i := range 3 {
			kr := metricKR(lead, 0, float64(10+i))
			kr.ObjectiveID = o.ID
			if err := s.CreateKeyResult(ctx, &kr); err != nil {
				t.Fatal(err)
			}
			if kr.ID == 0 || !kr.CreatedAt.Equal(now) {
				t.Errorf("after create: got ID %d, created %v; want an ID, %v", kr.ID, kr.CreatedAt, now)
			}
			added = append(added, kr.ID)
		}
		got, err := s.Objective(ctx, o.ID)
		if err != nil {
			t.Fatal(err)
		}
		var targets []float64
		var krIDs []int64
		for _, kr := range got.KeyResults {
			targets = append(targets, kr.Target)
			krIDs = append(krIDs, kr.ID)
		}
		if want := []float64{1, 2, 10, 11, 12}; !slices.Equal(targets, want) {
			t.Errorf("targets in order: got %v, want %v", targets, want)
		}
		if want := append([]int64{o.KeyResults[0].ID, o.KeyResults[1].ID}, added...); !slices.Equal(krIDs, want) {
			t.Errorf("IDs in order: got %v, want %v", krIDs, want)
		}
		var positions []int
		if err := s.DB().SelectContext(ctx, &positions, `SELECT position FROM key_results WHERE objective_id = $1 ORDER BY position`, o.ID); err != nil {
			t.Fatal(err)
		}
		if want := []int{0, 1, 2, 3, 4}; !slices.Equal(positions, want) {
			t.Errorf("positions: got %v, want %v", positions, want)
		}
	})

	t.Run("first of an objective", func(t *testing.T) {
		lead := unique("U")
		team := mustCreateTeam(t, s, lead)
		o := newObjective(team.ID, lead)
		mustCreateObjective(t, s, o, q1)
		kr := metricKR(lead, 0, 1)
		kr.ObjectiveID = o.ID
		if err := s.CreateKeyResult(ctx, &kr); err != nil {
			t.Fatal(err)
		}
		var position int
		if err := s.DB().GetContext(ctx, &position, `SELECT position FROM key_results WHERE id = $1`, kr.ID); err != nil {
			t.Fatal(err)
		}
		if position != 0 {
			t.Errorf("position: got %d, want 0", position)
		}
	})

	t.Run("unknown objective", func(t *testing.T) {
		kr := metricKR(unique("U"), 0, 1)
		kr.ObjectiveID = -1
		wantCode(t, s.CreateKeyResult(ctx, &kr), okr.ENOTFOUND)
	})

	t.Run("target equal to start", func(t *testing.T) {
		lead := unique("U")
		team := mustCreateTeam(t, s, lead)
		o := newObjective(team.ID, lead)
		mustCreateObjective(t, s, o, q1)
		kr := metricKR(lead, 3, 3)
		kr.ObjectiveID = o.ID
		err := s.CreateKeyResult(ctx, &kr)
		wantCode(t, err, okr.EINVALID)
		var e *okr.Error
		if errors.As(err, &e) && e.Field != "target" {
			t.Errorf("field: got %q, want target", e.Field)
		}
	})
}

func ids(objs []okr.Objective) []int64 {
	var out []int64
	for _, o := range objs {
		out = append(out, o.ID)
	}
	return out
}
