package storage_test

import (
	"context"
	"fmt"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/okrbot/okrbot/okr"
	"github.com/okrbot/okrbot/scheduler"
	"github.com/okrbot/okrbot/storage"
)

// The scheduler's interface for posting alerts is satisfied.
var _ scheduler.AlertStore = (*storage.Store)(nil)

func TestRecordCheckinAlerts(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	user := unique("U")
	team := mustCreateTeam(t, s, user)
	krs := make([]okr.KeyResult, 4)
	for i, confidence := range []int{8, 8, 0, 0} {
		krs[i] = metricKR(user, 0, 100)
		krs[i].Confidence = confidence
	}
	o := newObjective(team.ID, user, krs...)
	mustCreateObjective(t, s, o, q1)
	dropping, easing, offTrack, atRisk := o.KeyResults[0].ID, o.KeyResults[1].ID, o.KeyResults[2].ID, o.KeyResults[3].ID

	update := func(t *testing.T, krID int64, value float64, confidence int) {
		t.Helper()
		ok, err := s.RecordCheckin(ctx, okr.CheckinAnswer{
			UserID: user, At: now,
			Updates: []okr.KRUpdate{{KeyResultID: krID, Value: value, Confidence: confidence}},
		})
		if err != nil || !ok {
			t.Fatalf("record check-in: got %v, %v", ok, err)
		}
	}

	t.Run("confidence drop", func(t *testing.T) {
		update(t, dropping, 10, 4)
		evs := subjectEvents(t, s, "kr", dropping)
		want := []eventRow{{okr.RuleConfidenceDrop, okr.Happened, okr.Red, "", 4, 8.0}}
		if got := rowsOf(evs); !reflect.DeepEqual(got, want) {
			t.Fatalf("events: got %+v, want %+v", got, want)
		}
		if ev := evs[0]; ev.AlertID != nil || ev.UserID != user || ev.TeamID != team.ID || ev.State != "pending" {
			t.Errorf("event: got %+v, want no alert, by %s in team %d, pending", ev, user, team.ID)
		}
		if n := openAlerts(t, s, "kr", dropping); n != 0 {
			t.Errorf("open alerts: got %d, want 0 (at risk alone opens nothing)", n)
		}
		update(t, easing, 10, 6)
		if evs := subjectEvents(t, s, "kr", easing); len(evs) != 0 {
			t.Errorf("a drop of 2: got %+v, want no event", rowsOf(evs))
		}
	})

	t.Run("off track", func(t *testing.T) {
		update(t, offTrack, 5, 2)  // opens
		update(t, offTrack, 6, 3)  // holds
		update(t, offTrack, 7, 0)  // no confidence: nothing to evaluate
		update(t, offTrack, 20, 5) // improves to at risk
		update(t, offTrack, 30, 8) // recovers
		want := []eventRow{
			{okr.RuleKROffTrack, okr.Opened, okr.Red, "", 5, 0.0},
			{okr.RuleKROffTrack, okr.Improved, okr.Yellow, okr.Red, 20, 7.0},
			{okr.RuleKROffTrack, okr.Recovered, okr.Green, okr.Yellow, 30, 20.0},
		}
		if got := rowsOf(subjectEvents(t, s, "kr", offTrack)); !reflect.DeepEqual(got, want) {
			t.Errorf("events:\ngot  %+v\nwant %+v", got, want)
		}
		if n := openAlerts(t, s, "kr", offTrack); n != 0 {
			t.Errorf("open alerts: got %d, want 0", n)
		}
		update(t, atRisk, 5, 5)
		if evs := subjectEvents(t, s, "kr", atRisk); len(evs) != 0 {
			t.Errorf("at risk alone: got %+v, want no event", rowsOf(evs))
		}
	})

	t.Run("KPI readings", func(t *testing.T) {
		k := mustNewKPI(t, s, team.ID, user)
		follower := metricKR(user, 80, 99)
		fo := newObjective(team.ID, user, follower)
		mustCreateObjective(t, s, fo, q1)
		if err := s.LinkKeyResult(ctx, fo.KeyResults[0].ID, k.ID); err != nil {
			t.Fatal(err)
		}
		mustRecord(t, s, k.ID, user, 97)
		c := mustCreateCheckin(t, s, team.ID, user, now.Add(-time.Hour))
		at := now.Add(time.Minute)
		ok, err := s.RecordCheckin(ctx, okr.CheckinAnswer{
			CheckinID: &c.ID, UserID: user, At: at,
			Readings: []okr.Reading{{KPIID: k.ID, Value: 89, Note: "bad week"}},
			Updates:  []okr.KRUpdate{{KeyResultID: dropping, Value: 11, Confidence: 4}},
		})
		if err != nil || !ok {
			t.Fatalf("record check-in: got %v, %v", ok, err)
		}
		want := []eventRow{{okr.RuleKPIHealth, okr.Opened, okr.Red, "", 89, 97.0}}
		evs := subjectEvents(t, s, "kpi", k.ID)
		if got := rowsOf(evs); !reflect.DeepEqual(got, want) {
			t.Errorf("events: got %+v, want %+v", got, want)
		}
		if len(evs) == 1 && evs[0].UserID != user {
			t.Errorf("reported by: got %q, want %q", evs[0].UserID, user)
		}
		var r struct {
			CheckinID *int64    `db:"checkin_id"`
			ReadAt    time.Time `db:"read_at"`
			UserID    string    `db:"user_id"`
			Note      string    `db:"note"`
		}
		if err := s.DB().GetContext(ctx, &r, `
			SELECT checkin_id, read_at, user_id, note FROM kpi_readings WHERE kpi_id = $1 AND value = 89`, k.ID); err != nil {
			t.Fatal(err)
		}
		if r.CheckinID == nil || *r.CheckinID != c.ID || !r.ReadAt.Equal(at) || r.UserID != user || r.Note != "bad week" {
			t.Errorf("reading: got %+v, want check-in %d at %v by %s", r, c.ID, at, user)
		}
		var current float64
		if err := s.DB().GetContext(ctx, &current, `SELECT current_value FROM key_results WHERE id = $1`, fo.KeyResults[0].ID); err != nil || current != 89 {
			t.Errorf("following key result: got %v, %v, want 89", current, err)
		}
		// Confidence was 4 already: no second drop.
		if n := len(subjectEvents(t, s, "kr", dropping)); n != 1 {
			t.Errorf("drop events: got %d, want still 1", n)
		}

		// A reading of an archived KPI fails the whole answer.
		archived := mustNewKPI(t, s, team.ID, user)
		if err := s.ArchiveKPI(ctx, archived.ID, now); err != nil {
			t.Fatal(err)
		}
		c2 := mustCreateCheckin(t, s, team.ID, user, now.Add(-25*time.Hour))
		_, err = s.RecordCheckin(ctx, okr.CheckinAnswer{
			CheckinID: &c2.ID, UserID: user, At: at,
			Readings: []okr.Reading{{KPIID: k.ID, Value: 99}, {KPIID: archived.ID, Value: 99}},
		})
		wantCode(t, err, okr.EINVALID)
		if evs := subjectEvents(t, s, "kpi", k.ID); len(evs) != 1 {
			t.Errorf("events after a failed answer: got %+v, want the opening only", rowsOf(evs))
		}
		if got := mustCheckin(t, s, c2.ID); got.State != okr.Scheduled {
			t.Errorf("check-in: got %s, want scheduled", got.State)
		}
	})
}

// mustAlertEvents writes n events in team, by opening n KPIs' alerts.
func mustAlertEvents(tb testing.TB, s *storage.Store, teamID int64, user string, n int) []okr.AlertEvent {
	tb.Helper()
	var evs []okr.AlertEvent
	for range n {
		k := mustNewKPI(tb, s, teamID, user)
		evs = append(evs, mustRecord(tb, s, k.ID, user, 50)...)
	}
	if len(evs) != n {
		tb.Fatalf("events: got %d, want %d", len(evs), n)
	}
	return evs
}

func eventIDs(evs []okr.AlertEvent) []int64 {
	ids := []int64{}
	for _, ev := range evs {
		ids = append(ids, ev.ID)
	}
	slices.Sort(ids)
	return ids
}

func TestClaimAlertEvents(t *testing.T) {
	ctx := context.Background()

	t.Run("exactly once", func(t *testing.T) {
		s := mustOpenFresh(t)
		user := unique("U")
		team := mustCreateTeam(t, s, user)
		written := mustAlertEvents(t, s, team.ID, user, 120)

		claims := make([][]okr.AlertEvent, 8)
		errs := make([]error, 8)
		var wg sync.WaitGroup
		for i := range claims {
			wg.Go(func() {
				by := fmt.Sprintf("poster-%d", i)
				for {
					evs, err := s.ClaimAlertEvents(ctx, now, by, time.Minute, 7)
					if err != nil {
						errs[i] = err
						return
					}
					if len(evs) == 0 {
						return
					}
					for _, ev := range evs {
						if ev.Recovered || ev.State != "posting" {
							errs[i] = fmt.Errorf("claimed %+v", ev)
							return
						}
						if err := s.MarkAlertPosted(ctx, ev.ID, by, "C1", fmt.Sprint(ev.ID), now); err != nil {
							errs[i] = err
							return
						}
					}
					claims[i] = append(claims[i], evs...)
				}
			})
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				t.Fatal(err)
			}
		}
		var all []okr.AlertEvent
		for _, c := range claims {
			all = append(all, c...)
		}
		if got, want := eventIDs(all), eventIDs(written); !slices.Equal(got, want) {
			t.Errorf("claimed: got %d events, want each of the %d once", len(got), len(want))
		}
	})

	t.Run("lease", func(t *testing.T) {
		s := mustOpenFresh(t)
		user := unique("U")
		team := mustCreateTeam(t, s, user)
		written := mustAlertEvents(t, s, team.ID, user, 3)

		first, err := s.ClaimAlertEvents(ctx, now, "a", time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := eventIDs(first), eventIDs(written); !slices.Equal(got, want) {
			t.Fatalf("claimed: got %v, want %v", got, want)
		}
		if !slices.IsSortedFunc(first, func(a, b okr.AlertEvent) int { return int(a.ID - b.ID) }) {
			t.Errorf("claimed out of order: %v", first)
		}
		if evs, err := s.ClaimAlertEvents(ctx, now.Add(30*time.Second), "b", time.Minute, 10); err != nil || len(evs) != 0 {
			t.Errorf("while claimed: got %v, %v, want none", eventIDs(evs), err)
		}
		// a posts the first, gives the second back and loses the third.
		if err := s.MarkAlertPosted(ctx, first[0].ID, "a", "C1", "1.1", now); err != nil {
			t.Fatal(err)
		}
		if err := s.ReleaseAlertEvent(ctx, first[1].ID, "a", "rate limited"); err != nil {
			t.Fatal(err)
		}
		later := now.Add(2 * time.Minute)
		second, err := s.ClaimAlertEvents(ctx, later, "b", time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(second) != 2 || second[0].ID != first[1].ID || second[0].Recovered || second[0].Reason != "rate limited" ||
			second[1].ID != first[2].ID || !second[1].Recovered {
			t.Fatalf("reclaimed: got %+v, want %d (released) and %d (recovered)", second, first[1].ID, first[2].ID)
		}
		wantCode(t, s.MarkAlertPosted(ctx, first[2].ID, "a", "C1", "1.3", later), okr.ECONFLICT)
		wantCode(t, s.MarkAlertFailed(ctx, first[2].ID, "a", "gone"), okr.ECONFLICT)
		wantCode(t, s.ReleaseAlertEvent(ctx, first[2].ID, "a", ""), okr.ECONFLICT)
		wantCode(t, s.MarkAlertPosted(ctx, first[0].ID, "a", "C1", "1.1", later), okr.ECONFLICT) // posted already

		if err := s.MarkAlertFailed(ctx, first[1].ID, "b", "channel_not_found"); err != nil {
			t.Fatal(err)
		}
		if err := s.MarkAlertPosted(ctx, first[2].ID, "b", "C1", "1.3", later); err != nil {
			t.Fatal(err)
		}
		if evs, err := s.ClaimAlertEvents(ctx, later.Add(time.Hour), "c", time.Minute, 10); err != nil || len(evs) != 0 {
			t.Errorf("after posting and failing: got %v, %v, want none", eventIDs(evs), err)
		}

		posted, err := s.AlertEvent(ctx, first[2].ID)
		if err != nil {
			t.Fatal(err)
		}
		if posted.State != "posted" || posted.ChannelID != "C1" || posted.MessageTS != "1.3" ||
			posted.PostedAt == nil || !posted.PostedAt.Equal(later) {
			t.Errorf("posted: got %+v", posted)
		}
		failed, err := s.AlertEvent(ctx, first[1].ID)
		if err != nil {
			t.Fatal(err)
		}
		if failed.State != "failed" || failed.Reason != "channel_not_found" {
			t.Errorf("failed: got %+v", failed)
		}
		_, err = s.AlertEvent(ctx, -1)
		wantCode(t, err, okr.ENOTFOUND)

		// An opening's message is its alert's; a failed one leaves the alert open without one.
		as, err := s.OpenAlerts(ctx, team.ID)
		if err != nil {
			t.Fatal(err)
		}
		ts := map[int64]string{}
		for _, a := range as {
			ts[a.ID] = a.ChannelID + "/" + a.MessageTS
		}
		want := map[int64]string{
			*first[0].AlertID: "C1/1.1", *first[1].AlertID: "/", *first[2].AlertID: "C1/1.3",
		}
		if !reflect.DeepEqual(ts, want) {
			t.Errorf("alerts' messages: got %v, want %v", ts, want)
		}
	})

	t.Run("a change's message is not the alert's", func(t *testing.T) {
		s := mustOpenFresh(t)
		user := unique("U")
		team := mustCreateTeam(t, s, user)
		k := mustNewKPI(t, s, team.ID, user)
		mustRecord(t, s, k.ID, user, 93)
		mustRecord(t, s, k.ID, user, 80)
		evs, err := s.ClaimAlertEvents(ctx, now, "a", time.Minute, 10)
		if err != nil || len(evs) != 2 || evs[0].Change != okr.Opened || evs[1].Change != okr.Worsened {
			t.Fatalf("claimed: got %+v, %v, want the opening and the worsening", evs, err)
		}
		for i, ev := range evs {
			if err := s.MarkAlertPosted(ctx, ev.ID, "a", "C1", fmt.Sprintf("2.%d", i), now); err != nil {
				t.Fatal(err)
			}
		}
		as, err := s.OpenAlerts(ctx, team.ID)
		if err != nil || len(as) != 1 || as[0].MessageTS != "2.0" || as[0].Level != okr.Red {
			t.Errorf("alert: got %+v, %v, want red with the opening's message 2.0", as, err)
		}
	})
}

func TestEvaluatePace(t *testing.T) {
	ctx := context.Background()
	s := mustOpenFresh(t)
	user := unique("U")
	team := mustCreateTeam(t, s, user)
	behind, ahead := metricKR(user, 0, 100), metricKR(user, 0, 100)
	ahead.Current = 50
	decreasing := metricKR(user, 12, 4) // at its start: behind too
	milestone := okr.KeyResult{Title: "Ship it", OwnerID: user, Kind: okr.Milestone, Target: 1}
	o := newObjective(team.ID, user, behind, ahead, decreasing, milestone)
	mustCreateObjective(t, s, o, q1)
	closing := newObjective(team.ID, user, metricKR(user, 0, 100))
	mustCreateObjective(t, s, closing, q1)
	closed := newObjective(team.ID, user, metricKR(user, 0, 100))
	closed.Status = okr.Closed
	mustCreateObjective(t, s, closed, q1)
	mustCreateObjective(t, s, newObjective(team.ID, user, metricKR(user, 0, 100)), q2)
	behindID, decreasingID, closingID := o.KeyResults[0].ID, o.KeyResults[2].ID, closing.KeyResults[0].ID

	evaluate := func(t *testing.T, at time.Time, want int) {
		t.Helper()
		n, err := s.EvaluatePace(ctx, at)
		if err != nil {
			t.Fatal(err)
		}
		if n != want {
			t.Errorf("EvaluatePace at %v: got %d events, want %d", at, n, want)
		}
	}

	// 2027-Q1 runs from April 1 to July 1, 2027.
	evaluate(t, time.Date(2027, 4, 20, 6, 0, 0, 0, time.UTC), 0) // under a third elapsed
	day := time.Date(2027, 5, 15, 6, 0, 0, 0, time.UTC)
	evaluate(t, day, 3)
	evaluate(t, day.Add(12*time.Hour), 0) // the same day again
	for _, id := range []int64{behindID, decreasingID, closingID} {
		want := []eventRow{{okr.RuleBehindPace, okr.Opened, okr.Red, "", map[int64]float64{behindID: 0, decreasingID: 12, closingID: 0}[id], nil}}
		evs := subjectEvents(t, s, "kr", id)
		if got := rowsOf(evs); !reflect.DeepEqual(got, want) {
			t.Errorf("key result %d: got %+v, want %+v", id, got, want)
		}
		if len(evs) == 1 && (evs[0].TeamID != team.ID || evs[0].AlertID == nil || evs[0].UserID != "") {
			t.Errorf("key result %d: event %+v", id, evs[0])
		}
	}

	// behind catches up; the closing objective is closed.
	ok, err := s.RecordCheckin(ctx, okr.CheckinAnswer{
		UserID: user, At: day, Updates: []okr.KRUpdate{{KeyResultID: behindID, Value: 40}},
	})
	if err != nil || !ok {
		t.Fatalf("record check-in: got %v, %v", ok, err)
	}
	mustExec(t, s, `UPDATE objectives SET status = 'closed' WHERE id = $1`, closing.ID)
	evaluate(t, day.Add(13*time.Hour), 0) // caught up the same day: recovers tomorrow
	evaluate(t, day.Add(24*time.Hour), 1)
	want := []eventRow{
		{okr.RuleBehindPace, okr.Opened, okr.Red, "", 0, nil},
		{okr.RuleBehindPace, okr.Recovered, okr.Green, okr.Red, 40, nil},
	}
	if got := rowsOf(subjectEvents(t, s, "kr", behindID)); !reflect.DeepEqual(got, want) {
		t.Errorf("caught up:\ngot  %+v\nwant %+v", got, want)
	}
	if n := openAlerts(t, s, "kr", closingID); n != 0 {
		t.Errorf("closed objective's alert: got %d open, want it resolved", n)
	}
	if n := len(subjectEvents(t, s, "kr", closingID)); n != 1 {
		t.Errorf("closed objective's events: got %d, want the opening only", n)
	}
	as, err := s.OpenAlerts(ctx, team.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].SubjectID != decreasingID || as[0].Rule != okr.RuleBehindPace {
		t.Errorf("open alerts: got %+v, want the decreasing key result's", as)
	}
}

// TestEvaluatePaceAtScale evaluates 20,000 key results, all falling behind
// at once, then again (go test -v -run AtScale).
func TestEvaluatePaceAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("20,000 key results: not in -short")
	}
	const krs = 20000
	ctx := context.Background()
	s := mustOpenFresh(t)
	user := unique("U")
	team := mustCreateTeam(t, s, user)
	o := newObjective(team.ID, user, metricKR(user, 0, 100))
	mustCreateObjective(t, s, o, q1)
	mustExec(t, s, `
		INSERT INTO key_results (objective_id, position, title, owner_id, kind,
			start_value, target_value, current_value)
		SELECT $1, i, 'KR ' || i, $2, 'metric', 0, 100, 0
		FROM generate_series(1, $3 - 1) AS i`, o.ID, user, krs)
	day := time.Date(2027, 5, 15, 6, 0, 0, 0, time.UTC)
	for _, run := range []struct {
		name string
		at   time.Time
		want int
	}{
		{"all fall behind", day, krs},
		{"the same day", day.Add(time.Hour), 0},
		{"the next day, nothing changed", day.Add(24 * time.Hour), 0},
	} {
		start := time.Now()
		n, err := s.EvaluatePace(ctx, run.at)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("EvaluatePace, %s: %d events for %d key results in %v", run.name, n, krs, time.Since(start).Round(time.Millisecond))
		if n != run.want {
			t.Errorf("%s: got %d events, want %d", run.name, n, run.want)
		}
	}
}
