package storage_test

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	"github.com/okrbot/okrbot/okr"
)

// records returns rows as the CSV records they become.
func records(rows []okr.ExportRow) [][]string {
	var out [][]string
	for _, r := range rows {
		out = append(out, r.Record())
	}
	return out
}

func TestExportRows(t *testing.T) {
	ctx := context.Background()
	// A database of its own: an admin's export holds every team in it.
	s := mustOpenFresh(t)
	const alice, bob, carol, dave = "UALICE", "UBOB", "UCAROL", "UDAVE"
	// q1 runs from April 1 to June 30, 2027 (the fiscal year starts in April).
	day := func(d, h int) time.Time { return q1.Start.AddDate(0, 0, d).Add(time.Duration(h) * time.Hour) }

	platform := &okr.Team{Name: "Platform", ChannelID: "CPLATFORM", CreatedBy: alice}
	sales := &okr.Team{Name: "Sales", ChannelID: "CSALES", CreatedBy: carol}
	for _, team := range []*okr.Team{platform, sales} {
		if err := s.CreateTeam(ctx, team); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.AddMembers(ctx, platform.ID, []string{bob}, okr.RoleMember, alice); err != nil {
		t.Fatal(err)
	}
	kr := okr.KeyResult{Title: "Reduce first response time", OwnerID: alice, Kind: okr.Metric, Unit: "h", Start: 12, Target: 4, Current: 12}
	fast := &okr.Objective{TeamID: platform.ID, Title: "Make support fast", OwnerID: alice, Kind: okr.Committed, CreatedBy: alice, KeyResults: []okr.KeyResult{kr}}
	mustCreateObjective(t, s, fast, q1)
	deals := okr.KeyResult{Title: "Close deals", OwnerID: carol, Kind: okr.Metric, Start: 0, Target: 10, Current: 0}
	grow := &okr.Objective{TeamID: sales.ID, Title: "Grow", OwnerID: carol, Kind: okr.Aspirational, CreatedBy: carol, KeyResults: []okr.KeyResult{deals}}
	mustCreateObjective(t, s, grow, q1)
	delivery := newKPI(platform.ID, alice, "on-time-delivery", okr.HigherIsBetter, 95, 90)
	pipeline := newKPI(sales.ID, carol, "pipeline", okr.HigherIsBetter, 95, 90)
	pipeline.Unit = "k€"
	for _, k := range []*okr.KPI{delivery, pipeline} {
		if err := s.CreateKPI(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	read := func(k *okr.KPI, user string, v float64, at time.Time, note string) {
		t.Helper()
		if _, err := s.RecordReading(ctx, &okr.Reading{KPIID: k.ID, Value: v, UserID: user, At: at, Note: note}); err != nil {
			t.Fatal(err)
		}
	}

	// The edges of the quarter: its first instant is in, its end is not.
	read(delivery, alice, 90, q1.Start.Add(-time.Microsecond), "last quarter")
	read(delivery, alice, 91, q1.Start, "first thing")
	read(delivery, alice, 99, q1.End, "next quarter")

	// alice answers a check-in with an update and a reading at one instant.
	answered := mustCreateCheckin(t, s, platform.ID, alice, day(4, 9))
	if ok, err := s.RecordCheckin(ctx, okr.CheckinAnswer{
		CheckinID: &answered.ID, UserID: alice,
		Updates:  []okr.KRUpdate{{KeyResultID: fast.KeyResults[0].ID, Value: 9.5, Confidence: 8, Status: okr.OnTrack, Comment: "Better, \"much\"\nbetter — café"}},
		Readings: []okr.Reading{{KPIID: delivery.ID, Value: 96.5}},
		Blockers: "Waiting on procurement, again.",
		At:       day(4, 10),
	}); err != nil || !ok {
		t.Fatalf("record check-in: got %v, %v", ok, err)
	}
	// bob's check-in of the same week was never answered: it counts when due.
	unanswered := mustCreateCheckin(t, s, platform.ID, bob, day(4, 15))
	// An update off-cycle, with no confidence.
	if _, err := s.RecordCheckin(ctx, okr.CheckinAnswer{
		UserID: alice, Updates: []okr.KRUpdate{{KeyResultID: fast.KeyResults[0].ID, Value: 8}}, At: day(10, 0),
	}); err != nil {
		t.Fatal(err)
	}
	// Sales, in between.
	carols := mustCreateCheckin(t, s, sales.ID, carol, day(4, 12))
	if ok, err := s.RecordCheckin(ctx, okr.CheckinAnswer{
		CheckinID: &carols.ID, UserID: carol,
		Updates: []okr.KRUpdate{{KeyResultID: grow.KeyResults[0].ID, Value: 3, Confidence: 4, Status: okr.AtRisk}},
		At:      day(5, 8),
	}); err != nil || !ok {
		t.Fatalf("record carol's check-in: got %v, %v", ok, err)
	}
	read(pipeline, carol, 120.25, day(6, 0), "=SUM(A1:A9)")
	// An archived KPI's readings stay in its quarter's export.
	read(delivery, alice, 97, day(20, 0), "")
	if err := s.ArchiveKPI(ctx, delivery.ID, day(21, 0)); err != nil {
		t.Fatal(err)
	}

	ts := func(t time.Time) string { return t.UTC().Format(time.RFC3339) }
	id := func(n int64) string { return strconv.FormatInt(n, 10) }
	platformRows := [][]string{
		{"kpi_reading", "Platform", "", "", "on-time-delivery", alice, ts(q1.Start), "91", "%", "", "", "first thing", "", "", ""},
		{"checkin", "Platform", "", "", "", alice, ts(day(4, 10)), "", "", "", "", "", "Waiting on procurement, again.", "answered", id(answered.ID)},
		{"kr_update", "Platform", "Make support fast", "Reduce first response time", "", alice, ts(day(4, 10)), "9.5", "h", "8", "on_track", "Better, \"much\"\nbetter — café", "", "", id(answered.ID)},
		{"kpi_reading", "Platform", "", "", "on-time-delivery", alice, ts(day(4, 10)), "96.5", "%", "", "", "", "", "", id(answered.ID)},
		{"checkin", "Platform", "", "", "", bob, ts(day(4, 15)), "", "", "", "", "", "", "scheduled", id(unanswered.ID)},
		{"kr_update", "Platform", "Make support fast", "Reduce first response time", "", alice, ts(day(10, 0)), "8", "h", "", "", "", "", "", ""},
		{"kpi_reading", "Platform", "", "", "on-time-delivery", alice, ts(day(20, 0)), "97", "%", "", "", "", "", "", ""},
	}
	salesRows := [][]string{
		{"checkin", "Sales", "", "", "", carol, ts(day(5, 8)), "", "", "", "", "", "", "answered", id(carols.ID)},
		{"kr_update", "Sales", "Grow", "Close deals", "", carol, ts(day(5, 8)), "3", "", "4", "at_risk", "", "", "", id(carols.ID)},
		{"kpi_reading", "Sales", "", "", "pipeline", carol, ts(day(6, 0)), "120.25", "k€", "", "", "'=SUM(A1:A9)", "", "", ""},
	}
	everything := [][]string{platformRows[0], platformRows[1], platformRows[2], platformRows[3], platformRows[4],
		salesRows[0], salesRows[1], salesRows[2], platformRows[5], platformRows[6]}

	tests := []struct {
		name     string
		user     string
		allTeams bool
		period   okr.Period
		want     [][]string
	}{
		{"a lead sees their team", alice, false, q1, platformRows},
		{"a member sees their team", bob, false, q1, platformRows},
		{"another team's lead sees only theirs", carol, false, q1, salesRows},
		{"someone in no team sees nothing", dave, false, q1, nil},
		{"an admin sees every team", dave, true, q1, everything},
		{"a quarter with nothing in it", alice, false, q2.Next(), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := s.ExportRows(ctx, tt.user, tt.allTeams, tt.period)
			if err != nil {
				t.Fatal(err)
			}
			if got := records(rows); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %d rows:\n%q\nwant %d:\n%q", len(got), got, len(tt.want), tt.want)
			}
		})
	}

	t.Run("q2 holds the reading at its first instant", func(t *testing.T) {
		rows, err := s.ExportRows(ctx, alice, false, q2)
		if err != nil {
			t.Fatal(err)
		}
		want := [][]string{{"kpi_reading", "Platform", "", "", "on-time-delivery", alice, ts(q1.End), "99", "%", "", "", "next quarter", "", "", ""}}
		if got := records(rows); !reflect.DeepEqual(got, want) {
			t.Errorf("got %q, want %q", got, want)
		}
	})

	t.Run("an error of the callback stops the rows", func(t *testing.T) {
		stop := errors.New("stop")
		n := 0
		err := s.EachExportRow(ctx, dave, true, q1, func(okr.ExportRow) error {
			n++
			if n == 2 {
				return stop
			}
			return nil
		})
		if !errors.Is(err, stop) || n != 2 {
			t.Errorf("got %v after %d rows, want the callback's error after 2", err, n)
		}
	})
}

// TestExportRowsAtScale checks that an export of many rows is one query
// that streams: a quarter of 20,000 readings comes back whole and in order.
func TestExportRowsAtScale(t *testing.T) {
	if testing.Short() {
		t.Skip("seeds 20,000 readings")
	}
	ctx := context.Background()
	s := MustOpenStore(t)
	user := unique("U")
	team := mustCreateTeam(t, s, user)
	k := mustNewKPI(t, s, team.ID, user)
	const n = 20000
	mustExec(t, s, `
		INSERT INTO kpi_readings (kpi_id, value, read_at, user_id)
		SELECT $1, i, CAST($2 AS timestamptz) + i * interval '1 minute', $3
		FROM generate_series(1, $4) AS i`, k.ID, q1.Start, user, n)
	got, last := 0, time.Time{}
	err := s.EachExportRow(ctx, user, false, q1, func(r okr.ExportRow) error {
		if r.At.Before(last) {
			t.Fatalf("row %d at %v comes after one at %v", got, r.At, last)
		}
		last = r.At
		got++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if got != n {
		t.Errorf("got %d rows, want %d", got, n)
	}
}
