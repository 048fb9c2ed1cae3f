package storage_test

import (
	"context"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/okrbot/okrbot/okr"
)

func TestCloseQuarter(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	f := newSummaryFixture(t, s)
	next := newObjective(f.team.ID, f.lead, metricKR(f.lead, 0, 10))
	mustCreateObjective(t, s, next, q2)
	other := mustCreateTeam(t, s, f.lead)
	others := newObjective(other.ID, f.lead, metricKR(f.lead, 0, 10))
	mustCreateObjective(t, s, others, q1)

	closedAt := at(time.July, 2, 9, 0)
	n, err := s.CloseQuarter(ctx, f.team.ID, q1, f.lead, closedAt)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 {
		t.Errorf("closed: got %d, want 3", n)
	}
	var rows []struct {
		ID        int64      `db:"id"`
		Status    string     `db:"status"`
		Score     *float64   `db:"score"`
		CarryOver bool       `db:"carry_over"`
		ClosedAt  *time.Time `db:"closed_at"`
		ClosedBy  string     `db:"closed_by"`
	}
	if err := s.DB().SelectContext(ctx, &rows, `
		SELECT id, status, score, carry_over, closed_at, closed_by
		FROM objectives
		WHERE id = ANY(ARRAY[$1, $2, $3, $4, $5]::bigint[])
		ORDER BY id`, f.a.ID, f.b.ID, f.c.ID, next.ID, others.ID); err != nil {
		t.Fatal(err)
	}
	want := map[int64]struct {
		score     float64
		carryOver bool
	}{f.a.ID: {0.7, false}, f.b.ID: {0.6, true}, f.c.ID: {0, true}}
	for _, r := range rows {
		w, closing := want[r.ID]
		switch {
		case !closing && (r.Status != "active" || r.Score != nil || r.ClosedAt != nil):
			t.Errorf("objective %d of another quarter or team: got %+v, want it active", r.ID, r)
		case closing && (r.Status != "closed" || r.Score == nil || *r.Score != w.score || r.CarryOver != w.carryOver ||
			r.ClosedAt == nil || !r.ClosedAt.Equal(closedAt) || r.ClosedBy != f.lead):
			t.Errorf("objective %d: got %+v (score %v), want closed at %v by %s, score %v, carry over %v",
				r.ID, r, r.Score, closedAt, f.lead, w.score, w.carryOver)
		}
	}
	var finals []float64
	if err := s.DB().SelectContext(ctx, &finals, `
		SELECT final_value FROM key_results WHERE id = ANY(ARRAY[$1, $2, $3, $4]::bigint[]) ORDER BY id`,
		f.a1, f.a2, f.b1, f.b2); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(finals, []float64{80, 4, 1, 2}) {
		t.Errorf("final values: got %v, want [80 4 1 2]", finals)
	}

	t.Run("again", func(t *testing.T) {
		n, err := s.CloseQuarter(ctx, f.team.ID, q1, "USOMEONE", closedAt.Add(time.Hour))
		if err != nil || n != 0 {
			t.Errorf("closed again: got %d, %v, want 0", n, err)
		}
		var by string
		if err := s.DB().GetContext(ctx, &by, `SELECT closed_by FROM objectives WHERE id = $1`, f.a.ID); err != nil || by != f.lead {
			t.Errorf("closed by: got %q, %v, want %q", by, err, f.lead)
		}
	})

	t.Run("the summary keeps the frozen grades", func(t *testing.T) {
		// A late correction (of the correction: an update is corrected
		// once) moves b2 to 10: b would score 1.0 now.
		var correction int64
		if err := s.DB().GetContext(ctx, &correction, `SELECT id FROM kr_updates WHERE corrects_id = $1`, f.b2Update); err != nil {
			t.Fatal(err)
		}
		mustCorrect(t, s, f.lead, correction, 10, at(time.July, 5, 0, 0))
		sum, err := s.SummaryData(ctx, f.team.ID, q1, at(time.July, 10, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		if !sum.Closed {
			t.Error("closed: got false")
		}
		b := objectiveScore(t, sum, f.b.ID)
		finals, scores := krFinals(b)
		if b.Score != 0.6 || b.Colour != okr.Yellow || b.Achieved || !b.CarryOver || !slices.Equal(finals, []float64{1, 2}) || !slices.Equal(scores, []float64{1, 0.2}) {
			t.Errorf("b: got %v %s achieved %v carry over %v finals %v scores %v, want 0.6 yellow, not achieved, carried, [1 2], [1 0.2]",
				b.Score, b.Colour, b.Achieved, b.CarryOver, finals, scores)
		}
		if b.Objective.Status != okr.Closed {
			t.Errorf("status: got %s", b.Objective.Status)
		}
	})
}

func TestCarryOver(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	lead := unique("U")
	team := mustCreateTeam(t, s, lead)

	// Aspirational at 0.3: goes on. Its first key result is done, its
	// milestone is not; the third is at 30 of 100, confidence 4.
	parent := newObjective(team.ID, lead)
	mustCreateObjective(t, s, parent, mustPeriod("2027"))
	unfinished := newObjective(team.ID, lead,
		metricKR(lead, 0, 10),
		okr.KeyResult{Title: "Ship it", OwnerID: lead, Kind: okr.Milestone, Target: 1},
		metricKR(lead, 0, 100))
	unfinished.Kind = okr.Aspirational
	unfinished.ParentID = &parent.ID
	mustCreateObjective(t, s, unfinished, q1)
	mustKRUpdate(t, s, lead, unfinished.KeyResults[0].ID, 10, 9, at(time.May, 1, 0, 0))
	mustKRUpdate(t, s, lead, unfinished.KeyResults[2].ID, 30, 4, at(time.May, 1, 0, 0))
	mustKRUpdate(t, s, lead, unfinished.KeyResults[2].ID, 60, 6, at(time.July, 2, 0, 0)) // next quarter's
	// Aspirational at 0.7: a success. Committed at 0: not carried.
	success := newObjective(team.ID, lead, metricKR(lead, 0, 10))
	success.Kind = okr.Aspirational
	mustCreateObjective(t, s, success, q1)
	mustKRUpdate(t, s, lead, success.KeyResults[0].ID, 7, 8, at(time.May, 1, 0, 0))
	committed := newObjective(team.ID, lead, metricKR(lead, 0, 10))
	mustCreateObjective(t, s, committed, q1)

	when := at(time.July, 3, 0, 0)
	copies, err := s.CarryOver(ctx, team.ID, q1, "UCARRIER", when)
	if err != nil {
		t.Fatal(err)
	}
	if len(copies) != 1 {
		t.Fatalf("copies: got %d, want 1", len(copies))
	}
	c := copies[0]
	if c.ID == 0 || c.TeamID != team.ID || c.Title != unfinished.Title || c.Description != unfinished.Description ||
		c.OwnerID != lead || c.Kind != okr.Aspirational || c.Status != okr.Active || c.Period != "2027-Q2" ||
		c.ParentID == nil || *c.ParentID != parent.ID || c.CreatedBy != "UCARRIER" || !c.CreatedAt.Equal(when) {
		t.Errorf("copy: got %+v", c)
	}
	stored, err := s.ObjectivesByTeam(ctx, team.ID, "2027-Q2")
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 1 || stored[0].ID != c.ID {
		t.Fatalf("objectives of 2027-Q2: got %v, want the copy", ids(stored))
	}
	var carriedFrom int64
	if err := s.DB().GetContext(ctx, &carriedFrom, `SELECT carried_from FROM objectives WHERE id = $1`, c.ID); err != nil || carriedFrom != unfinished.ID {
		t.Errorf("carried from: got %d, %v, want %d", carriedFrom, err, unfinished.ID)
	}
	type kr struct {
		Title                  string
		Kind                   okr.KRKind
		Start, Target, Current float64
		Confidence             int
	}
	var got []kr
	for _, k := range stored[0].KeyResults {
		got = append(got, kr{k.Title, k.Kind, k.Start, k.Target, k.Current, k.Confidence})
	}
	want := []kr{
		{"Ship it", okr.Milestone, 0, 1, 0, 0},
		{unfinished.KeyResults[2].Title, okr.Metric, 30, 100, 30, 6},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("key results of the copy:\ngot  %+v\nwant %+v", got, want)
	}
	if !reflect.DeepEqual(krIDs(c.KeyResults), krIDs(stored[0].KeyResults)) {
		t.Errorf("returned key results: got %v, want %v", krIDs(c.KeyResults), krIDs(stored[0].KeyResults))
	}

	t.Run("again", func(t *testing.T) {
		copies, err := s.CarryOver(ctx, team.ID, q1, "UCARRIER", when.Add(time.Hour))
		if err != nil || len(copies) != 0 {
			t.Errorf("again: got %v, %v, want none", copies, err)
		}
		n, err := s.CloseQuarter(ctx, team.ID, q1, lead, when)
		if err != nil || n != 3 {
			t.Fatalf("close: got %d, %v, want 3", n, err)
		}
		copies, err = s.CarryOver(ctx, team.ID, q1, "UCARRIER", when.Add(time.Hour))
		if err != nil || len(copies) != 0 {
			t.Errorf("after closing: got %v, %v, want none", copies, err)
		}
		if stored, err := s.ObjectivesByTeam(ctx, team.ID, "2027-Q2"); err != nil || len(stored) != 1 {
			t.Errorf("objectives of 2027-Q2: got %v, %v, want the one copy", ids(stored), err)
		}
	})

	t.Run("after closing", func(t *testing.T) {
		team := mustCreateTeam(t, s, lead)
		o := newObjective(team.ID, lead, metricKR(lead, 0, 100))
		o.Kind = okr.Aspirational
		mustCreateObjective(t, s, o, q1)
		mustKRUpdate(t, s, lead, o.KeyResults[0].ID, 40, 5, at(time.June, 1, 0, 0))
		if n, err := s.CloseQuarter(ctx, team.ID, q1, lead, when); err != nil || n != 1 {
			t.Fatalf("close: got %d, %v, want 1", n, err)
		}
		// Moved after closing: the frozen final value holds.
		mustKRUpdate(t, s, lead, o.KeyResults[0].ID, 45, 5, at(time.June, 2, 0, 0))
		copies, err := s.CarryOver(ctx, team.ID, q1, lead, when.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if len(copies) != 1 || len(copies[0].KeyResults) != 1 || copies[0].KeyResults[0].Start != 40 || copies[0].KeyResults[0].Current != 40 {
			t.Fatalf("copies: got %+v, want one starting at 40", copies)
		}
		if copies, err := s.CarryOver(ctx, team.ID, q1, lead, when.Add(time.Hour)); err != nil || len(copies) != 0 {
			t.Errorf("again: got %v, %v, want none", copies, err)
		}
	})
}

func TestCarryOverConcurrent(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	lead := unique("U")
	team := mustCreateTeam(t, s, lead)
	for range 3 {
		o := newObjective(team.ID, lead, metricKR(lead, 0, 100))
		o.Kind = okr.Aspirational
		mustCreateObjective(t, s, o, q1)
	}
	const callers = 4
	var wg sync.WaitGroup
	copies := make([]int, callers)
	closed := make([]int, callers)
	errs := make([]error, 2*callers)
	for i := range callers {
		wg.Go(func() {
			cs, err := s.CarryOver(ctx, team.ID, q1, lead, at(time.July, 1, 0, 0))
			copies[i], errs[i] = len(cs), err
		})
		wg.Go(func() {
			closed[i], errs[callers+i] = s.CloseQuarter(ctx, team.ID, q1, lead, at(time.July, 1, 0, 0))
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	sum := func(ns []int) (n int) {
		for _, x := range ns {
			n += x
		}
		return n
	}
	if got := sum(copies); got != 3 {
		t.Errorf("copies: got %d (%v), want 3 in all", got, copies)
	}
	if got := sum(closed); got != 3 {
		t.Errorf("closed: got %d (%v), want 3 in all", got, closed)
	}
	stored, err := s.ObjectivesByTeam(ctx, team.ID, "2027-Q2")
	if err != nil || len(stored) != 3 {
		t.Errorf("objectives of 2027-Q2: got %d, %v, want 3", len(stored), err)
	}
}
