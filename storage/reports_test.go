package storage_test

import (
	"context"
	"fmt"
	"math"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/okrbot/okrbot/okr"
	"github.com/okrbot/okrbot/storage"
)

// at returns an instant of 2027 in UTC.
func at(month time.Month, day, hour, minute int) time.Time {
	return time.Date(2027, month, day, hour, minute, 0, 0, time.UTC)
}

// mustUpdate records a value and confidence of a key result by user at `when`
// and returns the update's id.
func mustKRUpdate(tb testing.TB, s *storage.Store, user string, krID int64, value float64, confidence int, when time.Time) int64 {
	tb.Helper()
	ctx := context.Background()
	ok, err := s.RecordCheckin(ctx, okr.CheckinAnswer{
		UserID: user, At: when,
		Updates: []okr.KRUpdate{{KeyResultID: krID, Value: value, Confidence: confidence}},
	})
	if err != nil || !ok {
		tb.Fatalf("record update: got %v, %v", ok, err)
	}
	var id int64
	if err := s.DB().GetContext(ctx, &id, `SELECT max(id) FROM kr_updates WHERE key_result_id = $1`, krID); err != nil {
		tb.Fatal(err)
	}
	return id
}

// mustCorrect stores a correction of an update, made at `when`.
func mustCorrect(tb testing.TB, s *storage.Store, user string, updateID int64, value float64, when time.Time) {
	tb.Helper()
	mustExec(tb, s, `
		INSERT INTO kr_updates (key_result_id, value, confidence, user_id, corrects_id, created_at)
		SELECT key_result_id, $2, confidence, $3, id, $4
		FROM kr_updates
		WHERE id = $1`, updateID, value, user, when)
}

// mustReading records a reading of a KPI read at `when`.
func mustReading(tb testing.TB, s *storage.Store, kpiID int64, user string, value float64, when time.Time) {
	tb.Helper()
	if _, err := s.RecordReading(context.Background(), &okr.Reading{KPIID: kpiID, Value: value, UserID: user, At: when}); err != nil {
		tb.Fatal(err)
	}
}

// mustCheckinIn stores a check-in of user in team due at due, in state.
func mustCheckinIn(tb testing.TB, s *storage.Store, teamID int64, user string, due time.Time, state okr.CheckinState) okr.Checkin {
	tb.Helper()
	c := mustCreateCheckin(tb, s, teamID, user, due)
	if state != okr.Scheduled {
		mustExec(tb, s, `UPDATE checkins SET state = $2 WHERE id = $1`, c.ID, state)
		c.State = state
	}
	return c
}

// mustAnswer answers a check-in at `when` with blockers.
func mustAnswer(tb testing.TB, s *storage.Store, c okr.Checkin, blockers string, when time.Time) {
	tb.Helper()
	ok, err := s.RecordCheckin(context.Background(), okr.CheckinAnswer{CheckinID: &c.ID, UserID: c.UserID, Blockers: blockers, At: when})
	if err != nil || !ok {
		tb.Fatalf("answer check-in: got %v, %v", ok, err)
	}
}

func krIDs(krs []okr.KeyResult) []int64 {
	ids := make([]int64, len(krs))
	for i, kr := range krs {
		ids[i] = kr.ID
	}
	return ids
}

func sorted(ss []string) []string {
	ss = slices.Clone(ss)
	slices.Sort(ss)
	return ss
}

func approxEqual(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// show returns a progress that may be missing, for messages.
func show(p *float64) string {
	if p == nil {
		return "none"
	}
	return fmt.Sprint(*p)
}

func TestDigestData(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	lead := unique("U")
	team := mustCreateTeam(t, s, lead)
	since := at(time.April, 9, 16, 0)

	// The previous digest, posted at since; one posted after now and one
	// pending do not count.
	mustExec(t, s, `
		INSERT INTO reports (team_id, kind, key, state, posted_at, created_at)
		VALUES ($1, 'digest', '2027-04-09', 'posted', $2, $2),
			($1, 'digest', 'manual:later', 'posted', $3, $3),
			($1, 'digest', 'manual:pending', 'pending', NULL, $2),
			($1, 'summary', '2027-Q4', 'posted', $4, $4)`,
		team.ID, since, now.Add(time.Minute), now.Add(-time.Hour))

	// An objective from before the previous digest.
	a := newObjective(team.ID, lead, metricKR(lead, 0, 100), metricKR(lead, 0, 10))
	mustCreateObjective(t, s, a, q1)
	mustExec(t, s, `UPDATE objectives SET created_at = $2 WHERE id = $1`, a.ID, at(time.April, 2, 0, 0))
	a1, a2 := a.KeyResults[0].ID, a.KeyResults[1].ID
	mustKRUpdate(t, s, lead, a1, 20, 8, at(time.April, 5, 10, 0))
	typo := mustKRUpdate(t, s, lead, a1, 40, 5, at(time.April, 9, 12, 0))
	mustKRUpdate(t, s, lead, a1, 60, 5, at(time.April, 11, 10, 0))
	mustKRUpdate(t, s, lead, a2, 5, 3, at(time.April, 8, 10, 0))
	// The value reported on April 9 was 30, not 40.
	mustCorrect(t, s, lead, typo, 30, now.Add(-time.Hour))

	// An objective created since, and one closed, and one of next quarter.
	b := newObjective(team.ID, lead, metricKR(lead, 0, 100), metricKR(lead, 0, 100))
	mustCreateObjective(t, s, b, q1)
	mustKRUpdate(t, s, lead, b.KeyResults[0].ID, 50, 7, now.Add(-time.Minute))
	closed := newObjective(team.ID, lead, metricKR(lead, 0, 100))
	closed.Status = okr.Closed
	closed.KeyResults[0].Confidence = 2
	mustCreateObjective(t, s, closed, q1)
	later := newObjective(team.ID, lead, metricKR(lead, 0, 100))
	later.KeyResults[0].Confidence = 1
	mustCreateObjective(t, s, later, q2)

	// KPIs: ten readings, then one after now; none; archived.
	k1 := mustNewKPI(t, s, team.ID, lead)
	for i := 1; i <= 10; i++ {
		mustReading(t, s, k1.ID, lead, float64(100-i), at(time.April, i, 8, 0))
	}
	mustReading(t, s, k1.ID, lead, 50, now.Add(time.Hour))
	k2 := mustNewKPI(t, s, team.ID, lead)
	k3 := mustNewKPI(t, s, team.ID, lead)
	if err := s.ArchiveKPI(ctx, k3.ID, now); err != nil {
		t.Fatal(err)
	}

	// Check-ins due in the last week, and one before.
	ua, ub, uc := unique("UA"), unique("UB"), unique("UC")
	us, um, uw, up, uu, uold := unique("US"), unique("UM"), unique("UW"), unique("UP"), unique("UU"), unique("UO")
	due := at(time.April, 5, 10, 0)
	mustAnswer(t, s, mustCheckinIn(t, s, team.ID, ua, due, okr.Scheduled), "Waiting on legal", at(time.April, 10, 8, 0))
	mustAnswer(t, s, mustCheckinIn(t, s, team.ID, ub, due, okr.Scheduled), "Answered before the last digest", at(time.April, 9, 12, 0))
	mustAnswer(t, s, mustCheckinIn(t, s, team.ID, uc, due.Add(24*time.Hour), okr.Scheduled), "  \n", at(time.April, 11, 8, 0))
	mustCheckinIn(t, s, team.ID, us, due, okr.Skipped)
	mustCheckinIn(t, s, team.ID, um, due, okr.Missed)
	mustCheckinIn(t, s, team.ID, uw, due, okr.Away)
	mustCheckinIn(t, s, team.ID, up, now.Add(-time.Hour), okr.Sent)
	mustCheckinIn(t, s, team.ID, uu, due, okr.Undeliverable)
	mustAnswer(t, s, mustCheckinIn(t, s, team.ID, uold, now.Add(-okr.CycleLength), okr.Scheduled), "Still blocked", at(time.April, 11, 9, 0))
	otherTeam := mustCreateTeam(t, s, lead)
	mustAnswer(t, s, mustCheckinIn(t, s, otherTeam.ID, ua, due, okr.Scheduled), "Another team's", at(time.April, 10, 9, 0))

	d, err := s.DigestData(ctx, team.ID, q1, now)
	if err != nil {
		t.Fatal(err)
	}
	if d.Team.ID != team.ID || d.Period.Label() != "2027-Q1" || !d.At.Equal(now) || !d.Since.Equal(since) {
		t.Errorf("digest: got team %d, period %s, at %v, since %v, want %d, 2027-Q1, %v, %v",
			d.Team.ID, d.Period, d.At, d.Since, team.ID, now, since)
	}

	t.Run("objectives", func(t *testing.T) {
		if len(d.Objectives) != 2 {
			t.Fatalf("objectives: got %d, want the 2 active ones of the quarter", len(d.Objectives))
		}
		da, db := d.Objectives[0], d.Objectives[1]
		if da.Objective.ID != a.ID || db.Objective.ID != b.ID {
			t.Fatalf("objectives: got %d and %d, want %d and %d", da.Objective.ID, db.Objective.ID, a.ID, b.ID)
		}
		if got := krIDs(da.Objective.KeyResults); !slices.Equal(got, []int64{a1, a2}) {
			t.Errorf("key results: got %v, want %v", got, []int64{a1, a2})
		}
		// Now 60 of 100 and 5 of 10; at the last digest 30 (as corrected)
		// and 5.
		if !approxEqual(da.Progress, 0.55) {
			t.Errorf("progress: got %v, want 0.55", da.Progress)
		}
		if da.Previous == nil || !approxEqual(*da.Previous, 0.4) {
			t.Errorf("previous: got %s, want 0.4", show(da.Previous))
		}
		if !approxEqual(db.Progress, 0.25) || db.Previous != nil {
			t.Errorf("created since: got progress %v previous %s, want 0.25 and none", db.Progress, show(db.Previous))
		}
	})

	t.Run("at risk", func(t *testing.T) {
		if got := krIDs(d.AtRisk); !slices.Equal(got, []int64{a2, a1}) {
			t.Errorf("at risk: got %v, want %v (confidence 3, then 5)", got, []int64{a2, a1})
		}
	})

	t.Run("KPIs", func(t *testing.T) {
		if len(d.KPIs) != 2 {
			t.Fatalf("KPIs: got %d, want the 2 active ones", len(d.KPIs))
		}
		byID := map[int64]okr.KPIStatus{}
		for _, st := range d.KPIs {
			byID[st.KPI.ID] = st
		}
		st := byID[k1.ID]
		if want := []float64{97, 96, 95, 94, 93, 92, 91, 90}; !slices.Equal(st.Trend, want) {
			t.Errorf("trend: got %v, want %v", st.Trend, want)
		}
		if st.Latest == nil || st.Latest.Value != 90 || !st.Latest.At.Equal(at(time.April, 10, 8, 0)) || st.Health != okr.Yellow {
			t.Errorf("latest: got %+v, %s, want 90 read on April 10, yellow", st.Latest, st.Health)
		}
		if st := byID[k2.ID]; st.Latest != nil || st.Health != "" || len(st.Trend) != 0 {
			t.Errorf("no readings: got %+v", st)
		}
	})

	t.Run("blockers", func(t *testing.T) {
		want := []okr.Blocker{
			{UserID: ua, Text: "Waiting on legal", At: at(time.April, 10, 8, 0)},
			{UserID: uold, Text: "Still blocked", At: at(time.April, 11, 9, 0)},
		}
		if len(d.Blockers) != len(want) {
			t.Fatalf("blockers: got %+v, want %+v", d.Blockers, want)
		}
		for i := range want {
			if got := d.Blockers[i]; got.UserID != want[i].UserID || got.Text != want[i].Text || !got.At.Equal(want[i].At) {
				t.Errorf("blocker %d: got %+v, want %+v", i, got, want[i])
			}
		}
	})

	t.Run("participation", func(t *testing.T) {
		got := d.Participation
		want := okr.Participation{
			Answered: sorted([]string{ua, ub, uc}), Skipped: []string{us}, Missed: []string{um},
			Away: []string{uw}, Pending: []string{up},
		}
		got.Answered = sorted(got.Answered)
		if !reflect.DeepEqual(got, want) {
			t.Errorf("participation:\ngot  %+v\nwant %+v", got, want)
		}
		if d.Empty() {
			t.Error("Empty: got true")
		}
	})

	t.Run("no previous digest", func(t *testing.T) {
		fresh := mustCreateTeam(t, s, lead)
		o := newObjective(fresh.ID, lead, metricKR(lead, 0, 100))
		mustCreateObjective(t, s, o, q1)
		mustExec(t, s, `UPDATE objectives SET created_at = $2 WHERE id = $1`, o.ID, at(time.April, 1, 0, 0))
		d, err := s.DigestData(ctx, fresh.ID, q1, now)
		if err != nil {
			t.Fatal(err)
		}
		if !d.Since.Equal(now.Add(-7 * 24 * time.Hour)) {
			t.Errorf("since: got %v, want a week before now", d.Since)
		}
		if len(d.Objectives) != 1 || d.Objectives[0].Previous != nil {
			t.Errorf("objectives: got %+v, want one with no previous progress", d.Objectives)
		}
		if len(d.AtRisk) != 0 || len(d.KPIs) != 0 || len(d.Blockers) != 0 || d.Participation.Total() != 0 {
			t.Errorf("got at risk %v, KPIs %v, blockers %v, participation %+v, want none", d.AtRisk, d.KPIs, d.Blockers, d.Participation)
		}
	})

	t.Run("unknown team", func(t *testing.T) {
		_, err := s.DigestData(ctx, -1, q1, now)
		wantCode(t, err, okr.ENOTFOUND)
	})
}

// summaryFixture is a team with a quarter (q1) of objectives, KPIs and
// check-ins to summarise.
type summaryFixture struct {
	team                   *okr.Team
	lead                   string
	a, b, c                *okr.Objective
	a1, a2, b1, b2         int64
	b2Update               int64
	kpi, archived, created *okr.KPI
}

// newSummaryFixture stores:
//   - a, committed: a1 (0 → 100) at 20 on April 5, 50 on April 20, 80 on
//     May 10 and 100 after the quarter; a2 (10 → 0) at 8 on April 10 and
//     4 on June 1. At the end: 0.8 and 0.6, scoring 0.7.
//   - b, aspirational: b1, a milestone done on May 15; b2 (0 → 10) at 3 on
//     April 15, corrected to 2 on June 20. At the end: 1 and 0.2, scoring
//     0.6.
//   - c, aspirational, with no key results: 0.
//   - a KPI green from before the quarter, yellow on April 11, red on May
//     1, green on May 21, and red after the quarter; one red from April 1,
//     green from April 21, archived on May 1; one archived before the
//     quarter; one created after it.
//   - check-ins of one person: answered twice, skipped, missed, away and
//     undeliverable; of another: sent and never closed (April 26) and
//     scheduled on May 10; one of March.
func newSummaryFixture(t *testing.T, s *storage.Store) *summaryFixture {
	t.Helper()
	ctx := context.Background()
	f := &summaryFixture{lead: unique("U")}
	f.team = mustCreateTeam(t, s, f.lead)
	lead := f.lead

	f.a = newObjective(f.team.ID, lead, metricKR(lead, 0, 100), metricKR(lead, 10, 0))
	mustCreateObjective(t, s, f.a, q1)
	f.a1, f.a2 = f.a.KeyResults[0].ID, f.a.KeyResults[1].ID
	mustKRUpdate(t, s, lead, f.a1, 20, 8, at(time.April, 5, 0, 0))
	mustKRUpdate(t, s, lead, f.a1, 50, 8, at(time.April, 20, 0, 0))
	mustKRUpdate(t, s, lead, f.a1, 80, 8, at(time.May, 10, 0, 0))
	mustKRUpdate(t, s, lead, f.a1, 100, 9, at(time.July, 3, 0, 0))
	mustKRUpdate(t, s, lead, f.a2, 8, 7, at(time.April, 10, 0, 0))
	mustKRUpdate(t, s, lead, f.a2, 4, 7, at(time.June, 1, 0, 0))

	f.b = newObjective(f.team.ID, lead,
		okr.KeyResult{Title: "Launch", OwnerID: lead, Kind: okr.Milestone, Target: 1},
		metricKR(lead, 0, 10))
	f.b.Kind = okr.Aspirational
	mustCreateObjective(t, s, f.b, q1)
	f.b1, f.b2 = f.b.KeyResults[0].ID, f.b.KeyResults[1].ID
	mustKRUpdate(t, s, lead, f.b1, 1, 8, at(time.May, 15, 0, 0))
	f.b2Update = mustKRUpdate(t, s, lead, f.b2, 3, 4, at(time.April, 15, 0, 0))
	mustCorrect(t, s, lead, f.b2Update, 2, at(time.June, 20, 0, 0))

	f.c = newObjective(f.team.ID, lead)
	f.c.Kind = okr.Aspirational
	mustCreateObjective(t, s, f.c, q1)

	f.kpi = mustNewKPI(t, s, f.team.ID, lead) // warning 95, critical 90
	mustReading(t, s, f.kpi.ID, lead, 99, at(time.March, 20, 0, 0))
	mustReading(t, s, f.kpi.ID, lead, 92, at(time.April, 11, 0, 0))
	mustReading(t, s, f.kpi.ID, lead, 85, at(time.May, 1, 0, 0))
	mustReading(t, s, f.kpi.ID, lead, 97, at(time.May, 21, 0, 0))
	mustReading(t, s, f.kpi.ID, lead, 80, at(time.July, 5, 0, 0))
	f.archived = mustNewKPI(t, s, f.team.ID, lead)
	mustReading(t, s, f.archived.ID, lead, 80, at(time.April, 1, 0, 0))
	mustReading(t, s, f.archived.ID, lead, 99, at(time.April, 21, 0, 0))
	if err := s.ArchiveKPI(ctx, f.archived.ID, at(time.May, 1, 0, 0)); err != nil {
		t.Fatal(err)
	}
	gone := mustNewKPI(t, s, f.team.ID, lead)
	if err := s.ArchiveKPI(ctx, gone.ID, at(time.March, 1, 0, 0)); err != nil {
		t.Fatal(err)
	}
	f.created = mustNewKPI(t, s, f.team.ID, lead)
	mustExec(t, s, `UPDATE kpis SET created_at = $2 WHERE id = $1`, f.created.ID, at(time.July, 5, 0, 0))

	u1, u2 := unique("U"), unique("U")
	for _, c := range []struct {
		due   time.Time
		state okr.CheckinState
	}{
		{at(time.April, 5, 10, 0), okr.Answered},
		{at(time.April, 12, 10, 0), okr.Answered},
		{at(time.April, 19, 10, 0), okr.Skipped},
		{at(time.April, 26, 10, 0), okr.Missed},
		{at(time.May, 3, 10, 0), okr.Away},
		{at(time.May, 10, 10, 0), okr.Undeliverable},
		{at(time.March, 29, 10, 0), okr.Answered},
	} {
		mustCheckinIn(t, s, f.team.ID, u1, c.due, c.state)
	}
	mustCheckinIn(t, s, f.team.ID, u2, at(time.April, 26, 10, 0), okr.Sent)
	mustCheckinIn(t, s, f.team.ID, u2, at(time.May, 10, 10, 0), okr.Scheduled)
	return f
}

// objectiveScore returns the score of an objective in a summary.
func objectiveScore(t *testing.T, sum *okr.Summary, id int64) okr.ObjectiveScore {
	t.Helper()
	for _, o := range sum.Objectives {
		if o.Objective.ID == id {
			return o
		}
	}
	t.Fatalf("objective %d not in the summary", id)
	return okr.ObjectiveScore{}
}

// krFinals returns the final values and scores of an objective's key results.
func krFinals(o okr.ObjectiveScore) (finals, scores []float64) {
	for _, k := range o.KRs {
		finals, scores = append(finals, k.Final), append(scores, k.Score)
	}
	return finals, scores
}

func TestSummaryData(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	f := newSummaryFixture(t, s)
	nan := math.NaN()

	type grade struct {
		score     float64
		colour    okr.Colour
		achieved  bool
		carryOver bool
		finals    []float64
		scores    []float64
	}
	checkGrade := func(t *testing.T, sum *okr.Summary, o *okr.Objective, want grade) {
		t.Helper()
		g := objectiveScore(t, sum, o.ID)
		finals, scores := krFinals(g)
		if g.Score != want.score || g.Colour != want.colour || g.Achieved != want.achieved || g.CarryOver != want.carryOver ||
			!slices.Equal(finals, want.finals) || !slices.Equal(scores, want.scores) {
			t.Errorf("objective %d: got score %v %s achieved %v carry over %v finals %v scores %v,\nwant %v %s %v %v %v %v",
				o.ID, g.Score, g.Colour, g.Achieved, g.CarryOver, finals, scores,
				want.score, want.colour, want.achieved, want.carryOver, want.finals, want.scores)
		}
	}
	checkSeries := func(t *testing.T, sum *okr.Summary, krID int64, want []float64) {
		t.Helper()
		for _, sr := range sum.Series {
			if sr.KeyResultID != krID {
				continue
			}
			if len(sr.Progress) != len(want) {
				t.Fatalf("series of %d: got %v, want %v", krID, sr.Progress, want)
			}
			for i := range want {
				if math.IsNaN(sr.Progress[i]) != math.IsNaN(want[i]) || (!math.IsNaN(want[i]) && !approxEqual(sr.Progress[i], want[i])) {
					t.Errorf("series of %d: got %v, want %v", krID, sr.Progress, want)
					return
				}
			}
			return
		}
		t.Errorf("series of %d: none", krID)
	}

	t.Run("after the quarter", func(t *testing.T) {
		end := at(time.July, 10, 12, 0)
		sum, err := s.SummaryData(ctx, f.team.ID, q1, end)
		if err != nil {
			t.Fatal(err)
		}
		if sum.Team.ID != f.team.ID || sum.Period.Label() != "2027-Q1" || !sum.At.Equal(end) || sum.Closed {
			t.Errorf("summary: got team %d, %s, at %v, closed %v", sum.Team.ID, sum.Period, sum.At, sum.Closed)
		}
		if got := []int64{sum.Objectives[0].Objective.ID, sum.Objectives[1].Objective.ID, sum.Objectives[2].Objective.ID}; !slices.Equal(got, []int64{f.a.ID, f.b.ID, f.c.ID}) || len(sum.Objectives) != 3 {
			t.Fatalf("objectives: got %v, want a, b and c", got)
		}
		// The update of a1 after the quarter does not count.
		checkGrade(t, sum, f.a, grade{0.7, okr.Green, false, false, []float64{80, 4}, []float64{0.8, 0.6}})
		// b2's correction counts.
		checkGrade(t, sum, f.b, grade{0.6, okr.Yellow, false, true, []float64{1, 2}, []float64{1, 0.2}})
		checkGrade(t, sum, f.c, grade{0, okr.Red, false, true, nil, nil})

		if len(sum.KPIs) != 2 || sum.KPIs[0].KPI.ID+sum.KPIs[1].KPI.ID != f.kpi.ID+f.archived.ID {
			t.Fatalf("KPIs: got %+v, want the KPI and the one archived in the quarter", sum.KPIs)
		}
		for _, sh := range sum.KPIs {
			switch sh.KPI.ID {
			case f.kpi.ID:
				// 91 days: green 10 + 41, yellow 20, red 20.
				if !approxEqual(sh.Green, 51.0/91) || !approxEqual(sh.Yellow, 20.0/91) || !approxEqual(sh.Red, 20.0/91) || sh.Readings != 3 {
					t.Errorf("KPI shares: got %+v, want green 51/91, yellow 20/91, red 20/91, 3 readings", sh)
				}
			case f.archived.ID:
				// Red 20 days, then green 10 until it was archived.
				if !approxEqual(sh.Red, 2.0/3) || !approxEqual(sh.Green, 1.0/3) || sh.Readings != 2 {
					t.Errorf("archived KPI shares: got %+v, want red 2/3, green 1/3, 2 readings", sh)
				}
			}
		}

		// Answered 2; expected those 2, skipped, missed, and both of the
		// other person's, whose cycles have ended.
		if sum.Answered != 2 || sum.Expected != 6 {
			t.Errorf("participation: got %d of %d, want 2 of 6", sum.Answered, sum.Expected)
		}

		if len(sum.Weeks) != 13 || !sum.Weeks[0].Equal(q1.Start) {
			t.Errorf("weeks: got %d from %v, want 13 from %v", len(sum.Weeks), sum.Weeks[0], q1.Start)
		}
		if len(sum.Series) != 4 {
			t.Errorf("series: got %d, want one per key result", len(sum.Series))
		}
		checkSeries(t, sum, f.a1, []float64{0.2, 0.2, 0.5, 0.5, 0.5, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8, 0.8})
		checkSeries(t, sum, f.b2, []float64{0, 0, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2, 0.2})
	})

	t.Run("during the quarter", func(t *testing.T) {
		mid := at(time.May, 12, 12, 0)
		sum, err := s.SummaryData(ctx, f.team.ID, q1, mid)
		if err != nil {
			t.Fatal(err)
		}
		// a1 at 80, a2 at 8: 0.5. b1 not done yet, b2 at 2: 0.1.
		checkGrade(t, sum, f.a, grade{0.5, okr.Yellow, false, false, []float64{80, 8}, []float64{0.8, 0.2}})
		checkGrade(t, sum, f.b, grade{0.1, okr.Red, false, true, []float64{0, 2}, []float64{0, 0.2}})
		for _, sh := range sum.KPIs {
			// April 1 to May 12, noon: green 10 days, yellow 20, red 11.5.
			if sh.KPI.ID == f.kpi.ID && (!approxEqual(sh.Green, 10.0/41.5) || !approxEqual(sh.Red, 11.5/41.5) || sh.Readings != 2) {
				t.Errorf("KPI shares: got %+v, want green 10/41.5, red 11.5/41.5, 2 readings", sh)
			}
		}
		// The other person's check-in of May 10 is still open.
		if sum.Answered != 2 || sum.Expected != 5 {
			t.Errorf("participation: got %d of %d, want 2 of 5", sum.Answered, sum.Expected)
		}
		checkSeries(t, sum, f.a1, []float64{0.2, 0.2, 0.5, 0.5, 0.5, 0.8, nan, nan, nan, nan, nan, nan, nan})
	})

	t.Run("another quarter", func(t *testing.T) {
		sum, err := s.SummaryData(ctx, f.team.ID, q2, at(time.July, 10, 0, 0))
		if err != nil {
			t.Fatal(err)
		}
		if len(sum.Objectives) != 0 || sum.Closed || sum.Answered != 0 || sum.Expected != 0 {
			t.Errorf("Q2: got %+v", sum)
		}
	})

	t.Run("unknown team", func(t *testing.T) {
		_, err := s.SummaryData(ctx, -1, q1, now)
		wantCode(t, err, okr.ENOTFOUND)
	})
}
