package storage_test

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/okrbot/okrbot/bot"
	"github.com/okrbot/okrbot/internal/pgtest"
	"github.com/okrbot/okrbot/okr"
	"github.com/okrbot/okrbot/storage"
)

// The bot's interface for KPIs and alerts is satisfied.
var _ bot.KPIStore = (*storage.Store)(nil)

// newKPI returns a valid weekly KPI of team owned by owner.
func newKPI(teamID int64, owner, name string, dir okr.Direction, warning, critical float64) *okr.KPI {
	return &okr.KPI{
		TeamID: teamID, Name: name, OwnerID: owner, Unit: "%", Direction: dir,
		Warning: warning, Critical: critical, Cadence: okr.Weekly, DataSource: "grafana",
	}
}

// mustNewKPI stores a higher-is-better KPI (warning 95, critical 90) of team
// with a unique name, owned by owner.
func mustNewKPI(tb testing.TB, s *storage.Store, teamID int64, owner string) *okr.KPI {
	tb.Helper()
	k := newKPI(teamID, owner, unique("uptime-"), okr.HigherIsBetter, 95, 90)
	if err := s.CreateKPI(context.Background(), k); err != nil {
		tb.Fatal(err)
	}
	return k
}

// mustRecord records a reading of k by user and returns its events.
func mustRecord(tb testing.TB, s *storage.Store, kpiID int64, user string, value float64) []okr.AlertEvent {
	tb.Helper()
	evs, err := s.RecordReading(context.Background(), &okr.Reading{KPIID: kpiID, Value: value, UserID: user})
	if err != nil {
		tb.Fatal(err)
	}
	return evs
}

// subjectEvents returns the alert events of a subject, oldest first.
func subjectEvents(tb testing.TB, s *storage.Store, kind string, id int64) []okr.AlertEvent {
	tb.Helper()
	evs := []okr.AlertEvent{}
	err := s.DB().SelectContext(context.Background(), &evs, `
		SELECT id, alert_id, team_id, subject_kind, subject_id, rule, change, level, previous,
			value, previous_value, user_id, created_at, state, channel_id, message_ts,
			posted_at, reason
		FROM alert_events
		WHERE subject_kind = $1 AND subject_id = $2
		ORDER BY id`, kind, id)
	if err != nil {
		tb.Fatal(err)
	}
	return evs
}

// openAlerts counts a subject's open alerts.
func openAlerts(tb testing.TB, s *storage.Store, kind string, id int64) int {
	tb.Helper()
	var n int
	if err := s.DB().GetContext(context.Background(), &n, `
		SELECT count(*) FROM alerts WHERE subject_kind = $1 AND subject_id = $2 AND state = 'open'`,
		kind, id); err != nil {
		tb.Fatal(err)
	}
	return n
}

// eventRow is what the alert tests compare of an event.
type eventRow struct {
	Rule          okr.AlertRule
	Change        okr.AlertChange
	Level         okr.Colour
	Previous      okr.Colour
	Value         float64
	PreviousValue any // nil or a float64
}

func rowOf(ev okr.AlertEvent) eventRow {
	r := eventRow{Rule: ev.Rule, Change: ev.Change, Level: ev.Level, Previous: ev.Previous, Value: ev.Value}
	if ev.PreviousValue != nil {
		r.PreviousValue = *ev.PreviousValue
	}
	return r
}

func rowsOf(evs []okr.AlertEvent) []eventRow {
	rows := []eventRow{}
	for _, ev := range evs {
		rows = append(rows, rowOf(ev))
	}
	return rows
}

func kpiNames(ks []okr.KPI) []string {
	names := []string{}
	for _, k := range ks {
		names = append(names, k.Name)
	}
	return names
}

func TestKPIs(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	lead := unique("U")
	team, other := mustCreateTeam(t, s, lead), mustCreateTeam(t, s, lead)

	k := newKPI(team.ID, lead, "Uptime", okr.HigherIsBetter, 99.5, 99)
	if err := s.CreateKPI(ctx, k); err != nil {
		t.Fatal(err)
	}
	if k.ID == 0 || !k.CreatedAt.Equal(now) {
		t.Errorf("created: got id %d at %v, want an id at %v", k.ID, k.CreatedAt, now)
	}

	t.Run("round trip", func(t *testing.T) {
		got, err := s.KPI(ctx, k.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, *k) {
			t.Errorf("KPI:\ngot  %+v\nwant %+v", *got, *k)
		}
		_, err = s.KPI(ctx, -1)
		wantCode(t, err, okr.ENOTFOUND)
	})

	t.Run("name taken in any case", func(t *testing.T) {
		dup := newKPI(team.ID, lead, "UPTIME", okr.LowerIsBetter, 1, 2)
		err := s.CreateKPI(ctx, dup)
		wantCode(t, err, okr.ECONFLICT)
		if msg := okr.ErrorMessage(err); !strings.Contains(msg, "Uptime") {
			t.Errorf("message: got %q, want it to name Uptime", msg)
		}
		if dup.ID != 0 {
			t.Errorf("id: got %d, want 0", dup.ID)
		}
		// Another team may use the name.
		if err := s.CreateKPI(ctx, newKPI(other.ID, lead, "uptime", okr.HigherIsBetter, 2, 1)); err != nil {
			t.Errorf("same name in another team: %v", err)
		}
	})

	t.Run("invalid", func(t *testing.T) {
		wantCode(t, s.CreateKPI(ctx, newKPI(team.ID, lead, "bad", okr.HigherIsBetter, 1, 2)), okr.EINVALID)
		wantCode(t, s.CreateKPI(ctx, newKPI(-1, lead, "orphan", okr.HigherIsBetter, 2, 1)), okr.ENOTFOUND)
	})

	latency := newKPI(team.ID, unique("U"), "latency", okr.LowerIsBetter, 200, 500)
	if err := s.CreateKPI(ctx, latency); err != nil {
		t.Fatal(err)
	}

	t.Run("update", func(t *testing.T) {
		want := *latency
		want.Name, want.Unit, want.Warning, want.Critical = "latency-p99", "ms", 300, 800
		want.Cadence, want.DataSource, want.OwnerID = okr.Daily, "prometheus", lead
		u := want
		u.TeamID = other.ID // not moved
		if err := s.UpdateKPI(ctx, &u); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(u, want) {
			t.Errorf("updated:\ngot  %+v\nwant %+v", u, want)
		}
		got, err := s.KPI(ctx, latency.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(*got, want) {
			t.Errorf("read back:\ngot  %+v\nwant %+v", *got, want)
		}
		clash := want
		clash.Name = "UpTime"
		wantCode(t, s.UpdateKPI(ctx, &clash), okr.ECONFLICT)
		missing := want
		missing.ID = -1
		wantCode(t, s.UpdateKPI(ctx, &missing), okr.ENOTFOUND)
	})

	t.Run("by team and owner", func(t *testing.T) {
		ks, err := s.KPIsByTeam(ctx, team.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := kpiNames(ks), []string{"latency-p99", "Uptime"}; !slices.Equal(got, want) {
			t.Errorf("by team: got %v, want %v", got, want)
		}
		ks, err = s.KPIsOwnedBy(ctx, lead)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, k := range ks {
			got = append(got, fmt.Sprintf("%d/%s", k.TeamID, k.Name))
		}
		want := []string{fmt.Sprintf("%d/latency-p99", team.ID), fmt.Sprintf("%d/Uptime", team.ID), fmt.Sprintf("%d/uptime", other.ID)}
		if strings.ToLower(other.Name) < strings.ToLower(team.Name) {
			want = append(want[2:], want[:2]...)
		}
		if !slices.Equal(got, want) {
			t.Errorf("owned: got %v, want %v", got, want)
		}
	})

	t.Run("archive", func(t *testing.T) {
		at := now.Add(time.Hour)
		if err := s.ArchiveKPI(ctx, k.ID, at); err != nil {
			t.Fatal(err)
		}
		if err := s.ArchiveKPI(ctx, k.ID, at.Add(time.Hour)); err != nil {
			t.Errorf("archive again: %v", err)
		}
		got, err := s.KPI(ctx, k.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.ArchivedAt == nil || !got.ArchivedAt.Equal(at) {
			t.Errorf("archived at: got %v, want %v", got.ArchivedAt, at)
		}
		ks, err := s.KPIsByTeam(ctx, team.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := kpiNames(ks), []string{"latency-p99"}; !slices.Equal(got, want) {
			t.Errorf("by team after archiving: got %v, want %v", got, want)
		}
		again := newKPI(team.ID, lead, "uptime", okr.HigherIsBetter, 2, 1)
		if err := s.CreateKPI(ctx, again); err != nil {
			t.Errorf("reusing an archived KPI's name: %v", err)
		}
		wantCode(t, s.ArchiveKPI(ctx, -1, at), okr.ENOTFOUND)
		_, err = s.RecordReading(ctx, &okr.Reading{KPIID: k.ID, Value: 1, UserID: lead})
		wantCode(t, err, okr.EINVALID)
	})
}

func TestFindKPIs(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	user, lead := unique("U"), unique("U")
	a, b, c := mustCreateTeam(t, s, user), mustCreateTeam(t, s, lead), mustCreateTeam(t, s, lead)
	if _, err := s.AddMembers(ctx, b.ID, []string{user}, okr.RoleMember, lead); err != nil {
		t.Fatal(err)
	}
	for _, k := range []*okr.KPI{
		newKPI(a.ID, user, "latency", okr.LowerIsBetter, 1, 2),
		newKPI(a.ID, user, "latency-p99", okr.LowerIsBetter, 1, 2),
		newKPI(a.ID, user, "err_rate", okr.LowerIsBetter, 1, 2),
		newKPI(a.ID, user, "errXrate", okr.LowerIsBetter, 1, 2),
		newKPI(a.ID, user, "50%ile", okr.LowerIsBetter, 1, 2),
		newKPI(b.ID, lead, "Latency", okr.LowerIsBetter, 1, 2),
		newKPI(b.ID, lead, "p99-old", okr.LowerIsBetter, 1, 2),
		newKPI(c.ID, lead, "latency", okr.LowerIsBetter, 1, 2),
		newKPI(c.ID, lead, "p99", okr.LowerIsBetter, 1, 2),
	} {
		if err := s.CreateKPI(ctx, k); err != nil {
			t.Fatal(err)
		}
	}
	archived := newKPI(a.ID, user, "p99-archived", okr.LowerIsBetter, 1, 2)
	if err := s.CreateKPI(ctx, archived); err != nil {
		t.Fatal(err)
	}
	if err := s.ArchiveKPI(ctx, archived.ID, now); err != nil {
		t.Fatal(err)
	}

	for _, tt := range []struct {
		name string
		want []string
	}{
		{"LATENCY", []string{"latency", "Latency"}},  // exact in both of the person's teams only
		{"Latency-P99", []string{"latency-p99"}},     // exact
		{"p99", []string{"latency-p99", "p99-old"}},  // contains; not team c's, not archived
		{"r_r", []string{"err_rate"}},                // _ is no wildcard
		{"%", []string{"50%ile"}},                    // nor %
		{" rate ", []string{"err_rate", "errXrate"}}, // trimmed
		{"nothing-like-it", []string{}},
		{"", []string{}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ks, err := s.FindKPIs(ctx, user, tt.name)
			if err != nil {
				t.Fatal(err)
			}
			if got := kpiNames(ks); !slices.Equal(got, tt.want) {
				t.Errorf("found: got %v, want %v", got, tt.want)
			}
		})
	}
	ks, err := s.FindKPIs(ctx, unique("U"), "latency")
	if err != nil || len(ks) != 0 {
		t.Errorf("for someone in no team: got %v, %v, want none", kpiNames(ks), err)
	}
}

func TestRecordReading(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	user := unique("U")
	team := mustCreateTeam(t, s, user)

	for _, tt := range []struct {
		name              string
		dir               okr.Direction
		warning, critical float64
		steps             []struct {
			value float64
			want  []eventRow
		}
	}{
		{"higher is better", okr.HigherIsBetter, 95, 90, []struct {
			value float64
			want  []eventRow
		}{
			{97, nil},
			{93, []eventRow{{okr.RuleKPIHealth, okr.Opened, okr.Yellow, "", 93, 97.0}}},
			{91, nil},
			{89, []eventRow{{okr.RuleKPIHealth, okr.Worsened, okr.Red, okr.Yellow, 89, 91.0}}},
			{92, []eventRow{{okr.RuleKPIHealth, okr.Improved, okr.Yellow, okr.Red, 92, 89.0}}},
			{96, []eventRow{{okr.RuleKPIHealth, okr.Recovered, okr.Green, okr.Yellow, 96, 92.0}}},
			{95, nil}, // at warning: green
			{90, []eventRow{{okr.RuleKPIHealth, okr.Opened, okr.Yellow, "", 90, 95.0}}}, // at critical: yellow
			{89.99, []eventRow{{okr.RuleKPIHealth, okr.Worsened, okr.Red, okr.Yellow, 89.99, 90.0}}},
			{120, []eventRow{{okr.RuleKPIHealth, okr.Recovered, okr.Green, okr.Red, 120, 89.99}}},
		}},
		{"lower is better", okr.LowerIsBetter, 5, 10, []struct {
			value float64
			want  []eventRow
		}{
			{5, nil}, // at warning: green
			{5.01, []eventRow{{okr.RuleKPIHealth, okr.Opened, okr.Yellow, "", 5.01, 5.0}}},
			{10, nil}, // at critical: yellow
			{10.5, []eventRow{{okr.RuleKPIHealth, okr.Worsened, okr.Red, okr.Yellow, 10.5, 10.0}}},
			{11, nil},
			{10, []eventRow{{okr.RuleKPIHealth, okr.Improved, okr.Yellow, okr.Red, 10, 11.0}}},
			{-3, []eventRow{{okr.RuleKPIHealth, okr.Recovered, okr.Green, okr.Yellow, -3, 10.0}}},
			{50, []eventRow{{okr.RuleKPIHealth, okr.Opened, okr.Red, "", 50, -3.0}}}, // straight to red
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			k := newKPI(team.ID, user, unique("k-"), tt.dir, tt.warning, tt.critical)
			if err := s.CreateKPI(ctx, k); err != nil {
				t.Fatal(err)
			}
			var written []okr.AlertEvent
			var alertID *int64
			for i, step := range tt.steps {
				evs := mustRecord(t, s, k.ID, user, step.value)
				if got := rowsOf(evs); !reflect.DeepEqual(got, append([]eventRow{}, step.want...)) {
					t.Errorf("reading %d (%v): got %+v, want %+v", i+1, step.value, got, step.want)
				}
				for _, ev := range evs {
					if ev.ID == 0 || ev.AlertID == nil || ev.TeamID != team.ID || ev.SubjectKind != "kpi" ||
						ev.SubjectID != k.ID || ev.UserID != user || ev.State != "pending" || !ev.CreatedAt.Equal(now) {
						t.Errorf("reading %d: event %+v", i+1, ev)
					}
					if ev.Change == okr.Opened {
						alertID = ev.AlertID
					} else if alertID == nil || *ev.AlertID != *alertID {
						t.Errorf("reading %d: alert %v, want the one opened, %v", i+1, *ev.AlertID, alertID)
					}
				}
				written = append(written, evs...)
				if n := openAlerts(t, s, "kpi", k.ID); n > 1 {
					t.Fatalf("reading %d: %d open alerts", i+1, n)
				}
			}
			if stored := subjectEvents(t, s, "kpi", k.ID); !reflect.DeepEqual(stored, written) {
				t.Errorf("stored events:\ngot  %+v\nwant %+v", stored, written)
			}
			if len(written) > 0 {
				ev, err := s.AlertEvent(ctx, written[0].ID)
				if err != nil || !reflect.DeepEqual(*ev, written[0]) {
					t.Errorf("AlertEvent: got %+v, %v, want %+v", ev, err, written[0])
				}
			}
		})
	}

	t.Run("recovered alert resolved", func(t *testing.T) {
		k := mustNewKPI(t, s, team.ID, user)
		opened := mustRecord(t, s, k.ID, user, 50)
		mustRecord(t, s, k.ID, user, 99)
		var a okr.Alert
		if err := s.DB().GetContext(ctx, &a, `
			SELECT id, team_id, subject_kind, subject_id, rule, level, state, channel_id,
				message_ts, opened_at, resolved_at
			FROM alerts WHERE id = $1`, *opened[0].AlertID); err != nil {
			t.Fatal(err)
		}
		if a.State != okr.AlertResolved || a.ResolvedAt == nil || !a.ResolvedAt.Equal(now) ||
			a.Level != okr.Red || a.Rule != okr.RuleKPIHealth || !a.OpenedAt.Equal(now) {
			t.Errorf("alert: got %+v", a)
		}
	})

	t.Run("reading stored", func(t *testing.T) {
		k := mustNewKPI(t, s, team.ID, user)
		at := now.Add(-48 * time.Hour)
		r := okr.Reading{KPIID: k.ID, Value: 97.25, UserID: user, Note: "from the dashboard", At: at}
		if _, err := s.RecordReading(ctx, &r); err != nil {
			t.Fatal(err)
		}
		later := okr.Reading{KPIID: k.ID, Value: 98, UserID: user}
		if _, err := s.RecordReading(ctx, &later); err != nil {
			t.Fatal(err)
		}
		if r.ID == 0 || !later.At.Equal(now) {
			t.Errorf("recorded: got id %d and at %v, want an id and %v", r.ID, later.At, now)
		}
		rs, err := s.Readings(ctx, k.ID, 10)
		if err != nil {
			t.Fatal(err)
		}
		if want := []okr.Reading{later, r}; !reflect.DeepEqual(rs, want) {
			t.Errorf("readings:\ngot  %+v\nwant %+v", rs, want)
		}
		if rs, err := s.Readings(ctx, k.ID, 1); err != nil || len(rs) != 1 || rs[0].ID != later.ID {
			t.Errorf("latest reading: got %+v, %v, want %d", rs, err, later.ID)
		}
		none := mustNewKPI(t, s, team.ID, user)
		latest, err := s.LatestReadings(ctx, []int64{k.ID, none.ID, -1})
		if err != nil {
			t.Fatal(err)
		}
		if want := map[int64]okr.Reading{k.ID: later}; !reflect.DeepEqual(latest, want) {
			t.Errorf("latest readings: got %+v, want %+v", latest, want)
		}
	})

	t.Run("refused", func(t *testing.T) {
		_, err := s.RecordReading(ctx, &okr.Reading{KPIID: -1, Value: 1, UserID: user})
		wantCode(t, err, okr.ENOTFOUND)
		k := mustNewKPI(t, s, team.ID, user)
		for _, v := range []float64{math.NaN(), math.Inf(1)} {
			_, err = s.RecordReading(ctx, &okr.Reading{KPIID: k.ID, Value: v, UserID: user})
			wantCode(t, err, okr.EINVALID)
		}
	})
}

func TestLinkKeyResult(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	user := unique("U")
	team, other := mustCreateTeam(t, s, user), mustCreateTeam(t, s, user)
	follower, free := metricKR(user, 80, 99), metricKR(user, 80, 99)
	milestone := okr.KeyResult{Title: "Ship it", OwnerID: user, Kind: okr.Milestone, Target: 1}
	o := newObjective(team.ID, user, follower, free, milestone)
	mustCreateObjective(t, s, o, q1)
	followerID, freeID, milestoneID := o.KeyResults[0].ID, o.KeyResults[1].ID, o.KeyResults[2].ID
	k := mustNewKPI(t, s, team.ID, user)
	theirs := mustNewKPI(t, s, other.ID, user)

	current := func(t *testing.T, id int64) (float64, *int64) {
		t.Helper()
		var kr struct {
			Current float64 `db:"current_value"`
			KPIID   *int64  `db:"kpi_id"`
		}
		if err := s.DB().GetContext(ctx, &kr, `SELECT current_value, kpi_id FROM key_results WHERE id = $1`, id); err != nil {
			t.Fatal(err)
		}
		return kr.Current, kr.KPIID
	}

	if err := s.LinkKeyResult(ctx, followerID, k.ID); err != nil {
		t.Fatal(err)
	}
	mustRecord(t, s, k.ID, user, 93.5)
	if v, link := current(t, followerID); v != 93.5 || link == nil || *link != k.ID {
		t.Errorf("follower: got %v linked to %v, want 93.5 linked to %d", v, link, k.ID)
	}
	if v, _ := current(t, freeID); v != 80 {
		t.Errorf("free key result: got %v, want 80", v)
	}

	wantCode(t, s.LinkKeyResult(ctx, -1, k.ID), okr.ENOTFOUND)
	wantCode(t, s.LinkKeyResult(ctx, freeID, -1), okr.ENOTFOUND)
	wantCode(t, s.LinkKeyResult(ctx, freeID, theirs.ID), okr.EINVALID)
	wantCode(t, s.LinkKeyResult(ctx, milestoneID, k.ID), okr.EINVALID)

	if err := s.LinkKeyResult(ctx, followerID, 0); err != nil {
		t.Fatal(err)
	}
	mustRecord(t, s, k.ID, user, 99)
	if v, link := current(t, followerID); v != 93.5 || link != nil {
		t.Errorf("unlinked: got %v linked to %v, want 93.5 and no KPI", v, link)
	}
}

func TestArchiveKPIResolvesAlerts(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	user := unique("U")
	team := mustCreateTeam(t, s, user)
	k, keep := mustNewKPI(t, s, team.ID, user), mustNewKPI(t, s, team.ID, user)
	mustRecord(t, s, k.ID, user, 80)
	mustRecord(t, s, keep.ID, user, 80)
	if as, err := s.OpenAlerts(ctx, team.ID); err != nil || len(as) != 2 {
		t.Fatalf("open alerts: got %+v, %v, want 2", as, err)
	}
	at := now.Add(time.Minute)
	if err := s.ArchiveKPI(ctx, k.ID, at); err != nil {
		t.Fatal(err)
	}
	as, err := s.OpenAlerts(ctx, team.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].SubjectID != keep.ID || as[0].Level != okr.Red || as[0].State != okr.AlertOpen {
		t.Errorf("open alerts after archiving: got %+v, want %d's only", as, keep.ID)
	}
	var resolvedAt time.Time
	if err := s.DB().GetContext(ctx, &resolvedAt, `
		SELECT resolved_at FROM alerts WHERE subject_kind = 'kpi' AND subject_id = $1 AND state = 'resolved'`,
		k.ID); err != nil || !resolvedAt.Equal(at) {
		t.Errorf("resolved at: got %v, %v, want %v", resolvedAt, err, at)
	}
	if evs := subjectEvents(t, s, "kpi", k.ID); len(evs) != 1 || evs[0].Change != okr.Opened {
		t.Errorf("events: got %+v, want only the opening", rowsOf(evs))
	}
}

// TestRecordReadingConcurrent records readings of one KPI from 10
// goroutines: they are evaluated one after the other, so the events are
// those of the readings replayed in the order they were stored.
func TestRecordReadingConcurrent(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	user := unique("U")
	team := mustCreateTeam(t, s, user)
	k := mustNewKPI(t, s, team.ID, user)
	values := []float64{97, 93, 89, 96, 91, 85}

	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for g := range 10 {
		wg.Go(func() {
			for i := range 30 {
				v := values[(g+i*(g+1))%len(values)]
				if _, err := s.RecordReading(ctx, &okr.Reading{KPIID: k.ID, Value: v, UserID: user}); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	var rs []float64
	if err := s.DB().SelectContext(ctx, &rs, `SELECT value FROM kpi_readings WHERE kpi_id = $1 ORDER BY id`, k.ID); err != nil {
		t.Fatal(err)
	}
	if len(rs) != 300 {
		t.Fatalf("readings: got %d, want 300", len(rs))
	}
	var want []eventRow
	open := okr.Colour("")
	for i, v := range rs {
		level := k.Health(v)
		change := okr.NextAlert(open, level)
		if change == okr.NoChange {
			continue
		}
		var previous any
		if i > 0 {
			previous = rs[i-1]
		}
		want = append(want, eventRow{okr.RuleKPIHealth, change, level, open, v, previous})
		open = level
		if change == okr.Recovered {
			open = ""
		}
	}
	got := rowsOf(subjectEvents(t, s, "kpi", k.ID))
	if !reflect.DeepEqual(got, want) {
		t.Errorf("events (%d) differ from the readings replayed (%d)", len(got), len(want))
	}
	opened := false
	for i, ev := range got {
		switch {
		case ev.Change == okr.Opened && opened:
			t.Fatalf("event %d: opened again without a recovery", i)
		case ev.Change != okr.Opened && !opened:
			t.Fatalf("event %d: %s with no open alert", i, ev.Change)
		}
		opened = ev.Change != okr.Recovered
	}
	if n := openAlerts(t, s, "kpi", k.ID); (n == 1) != opened {
		t.Errorf("open alerts: got %d, want %v", n, opened)
	}
}

// TestKPIRulesInSQL checks the rules record_kpi_reading applies in SQL
// against okr.KPI.Health and okr.NextAlert, the rules themselves: for both
// directions, a value below, at, between, at and above the two thresholds,
// and every level the KPI's alert can be open at (none, yellow, red). It
// compares the SQL functions with the Go ones at every point, then records
// a reading of a fresh KPI at every point and compares what it did.
func TestKPIRulesInSQL(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)
	user := unique("U")
	team := mustCreateTeam(t, s, user)

	type grid struct {
		dir               okr.Direction
		warning, critical float64
		values            []float64
	}
	grids := []grid{
		{okr.HigherIsBetter, 95, 90, []float64{-1e9, 85, 90, 92.5, 95, 99, 1e9}},
		{okr.LowerIsBetter, 5, 10, []float64{-1e9, -3, 5, 7.5, 10, 15, 1e9}},
		{okr.HigherIsBetter, 0, -0.5, []float64{-1, -0.5, -0.25, 0, 0.25}},
		{okr.LowerIsBetter, -10, 0, []float64{-20, -10, -5, 0, 1}},
	}
	opens := []okr.Colour{"", okr.Yellow, okr.Red}
	levels := []okr.Colour{okr.Green, okr.Yellow, okr.Red}

	t.Run("functions", func(t *testing.T) {
		for _, g := range grids {
			k := okr.KPI{Direction: g.dir, Warning: g.warning, Critical: g.critical}
			for _, v := range g.values {
				var got okr.Colour
				if err := s.DB().GetContext(ctx, &got, `SELECT kpi_health($1, $2, $3, $4)`,
					g.dir, g.warning, g.critical, v); err != nil {
					t.Fatal(err)
				}
				if want := k.Health(v); got != want {
					t.Errorf("kpi_health(%s, %v, %v, %v): got %q, want %q", g.dir, g.warning, g.critical, v, got, want)
				}
			}
		}
		for _, open := range opens {
			for _, observed := range levels {
				var got okr.AlertChange
				if err := s.DB().GetContext(ctx, &got, `SELECT next_alert($1, $2)`, open, observed); err != nil {
					t.Fatal(err)
				}
				if want := okr.NextAlert(open, observed); got != want {
					t.Errorf("next_alert(%q, %q): got %q, want %q", open, observed, got, want)
				}
			}
		}
	})

	t.Run("readings", func(t *testing.T) {
		for _, g := range grids {
			for _, open := range opens {
				for _, v := range g.values {
					name := fmt.Sprintf("%s %v/%v open %q value %v", g.dir, g.warning, g.critical, open, v)
					k := newKPI(team.ID, user, unique("grid-"), g.dir, g.warning, g.critical)
					if err := s.CreateKPI(ctx, k); err != nil {
						t.Fatal(err)
					}
					var alertID *int64
					if open != "" {
						var id int64
						if err := s.DB().GetContext(ctx, &id, `
							INSERT INTO alerts (team_id, subject_kind, subject_id, rule, level, opened_at)
							VALUES ($1, 'kpi', $2, 'kpi_health', $3, $4)
							RETURNING id`, team.ID, k.ID, open, now); err != nil {
							t.Fatal(err)
						}
						alertID = &id
					}
					evs := mustRecord(t, s, k.ID, user, v)

					level := k.Health(v)
					change := okr.NextAlert(open, level)
					var want []eventRow
					if change != okr.NoChange {
						want = []eventRow{{okr.RuleKPIHealth, change, level, open, v, nil}}
					}
					if got := rowsOf(evs); !reflect.DeepEqual(got, append([]eventRow{}, want...)) {
						t.Errorf("%s: got %+v, want %+v", name, got, want)
					}
					if stored := subjectEvents(t, s, "kpi", k.ID); !reflect.DeepEqual(stored, append([]okr.AlertEvent{}, evs...)) {
						t.Errorf("%s: stored %+v, returned %+v", name, stored, evs)
					}
					if len(evs) == 1 && alertID != nil && (evs[0].AlertID == nil || *evs[0].AlertID != *alertID) {
						t.Errorf("%s: event of alert %v, want %d", name, evs[0].AlertID, *alertID)
					}

					// The alert is left open at the level observed, or
					// resolved.
					wantOpen := open
					switch change {
					case okr.Opened, okr.Worsened, okr.Improved:
						wantOpen = level
					case okr.Recovered:
						wantOpen = ""
					}
					var gotOpen okr.Colour
					if err := s.DB().GetContext(ctx, &gotOpen, `
						SELECT COALESCE(max(level), '')
						FROM alerts
						WHERE subject_kind = 'kpi' AND subject_id = $1 AND state = 'open'`, k.ID); err != nil {
						t.Fatal(err)
					}
					if gotOpen != wantOpen {
						t.Errorf("%s: alert open at %q, want %q", name, gotOpen, wantOpen)
					}
				}
			}
		}
	})

	t.Run("archived", func(t *testing.T) {
		k := mustNewKPI(t, s, team.ID, user)
		if err := s.ArchiveKPI(ctx, k.ID, now); err != nil {
			t.Fatal(err)
		}
		r := okr.Reading{KPIID: k.ID, Value: 50, UserID: user}
		evs, err := s.RecordReading(ctx, &r)
		wantCode(t, err, okr.EINVALID)
		if evs != nil || r.ID != 0 {
			t.Errorf("archived: got %+v and reading %d, want nothing", evs, r.ID)
		}
		if rs, err := s.Readings(ctx, k.ID, 10); err != nil || len(rs) != 0 {
			t.Errorf("readings of an archived KPI: got %+v, %v, want none", rs, err)
		}
	})
}

// BenchmarkReadingsAtScale records 100,000 readings of 1,000 KPIs from 8
// goroutines, evaluating each against its KPI's alert, and reports the rate
// and the CPU per reading (go test -run '^$' -bench ReadingsAtScale -benchtime 1x ./storage/).
// Readings through the store are the whole path of recording one: the
// bot's /okr kpi record adds a Slack round trip, which BenchmarkAckLatency
// covers. For comparison, it first runs pgbench against a scratch table of
// the same database with the same concurrency (8 clients, 2 threads, 10 s)
// and a bare one-insert transaction, and reports its rate and the ratio of
// the two; it says why when it cannot.
func BenchmarkReadingsAtScale(b *testing.B) {
	for range b.N {
		readingsAtScale(b)
	}
}

func readingsAtScale(t *testing.B) {
	const (
		kpis     = 1000
		readings = 100000
		workers  = 8
	)
	ctx := context.Background()
	url := pgtest.FreshDatabase(t)
	s := mustOpenMigrated(t, url)
	user := unique("U")
	team := mustCreateTeam(t, s, user)
	s.Now = time.Now // readings at distinct times, as in life
	tps := pgbenchInsert(t, s, url, workers)
	mustExec(t, s, `
		INSERT INTO kpis (team_id, name, owner_id, direction, warning, critical, cadence)
		SELECT $1, 'kpi-' || i, $2, 'higher_is_better', 95, 90, 'daily'
		FROM generate_series(1, $3) AS i`, team.ID, user, kpis)
	var ids []int64
	if err := s.DB().SelectContext(ctx, &ids, `SELECT id FROM kpis WHERE team_id = $1 ORDER BY id`, team.ID); err != nil {
		t.Fatal(err)
	}
	// A key result follows every tenth KPI.
	o := newObjective(team.ID, user, metricKR(user, 0, 100))
	mustCreateObjective(t, s, o, q1)
	mustExec(t, s, `
		INSERT INTO key_results (objective_id, title, owner_id, kind, start_value, target_value,
			current_value, kpi_id)
		SELECT $1, 'KR of ' || k.name, $2, 'metric', 0, 100, 0, k.id
		FROM kpis k
		WHERE k.team_id = $3 AND k.id % 10 = 0`, o.ID, user, team.ID)

	var events sync.Map
	cpu0 := scaleCPU(t, s)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 1))
			n := 0
			for i := w; i < readings; i += workers {
				// Mostly healthy, now and then yellow or red.
				v := 96 + rng.Float64()*4
				if rng.IntN(10) == 0 {
					v = 85 + rng.Float64()*10
				}
				evs, err := s.RecordReading(ctx, &okr.Reading{KPIID: ids[rng.IntN(len(ids))], Value: v, UserID: user})
				if err != nil {
					errs <- err
					return
				}
				n += len(evs)
			}
			events.Store(w, n)
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	cpu1 := scaleCPU(t, s)
	t.ReportMetric(float64((cpu1[0]-cpu0[0])+(cpu1[1]-cpu0[1]))/float64(readings)/1000, "cpu-µs/reading")
	t.Logf("CPU per reading: %v in this process, %v in PostgreSQL",
		(cpu1[0]-cpu0[0])/readings, (cpu1[1]-cpu0[1])/readings)
	rate := float64(readings) / elapsed.Seconds()
	t.ReportMetric(rate, "readings/s")
	if tps > 0 {
		t.ReportMetric(tps, "pgbench-tps")
		t.ReportMetric(rate/tps, "ratio-to-pgbench")
	}
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := 0
	events.Range(func(_, n any) bool { total += n.(int); return true })
	t.Logf("RecordReading: %d readings of %d KPIs by %d goroutines in %v: %.0f readings/s, %d alert events",
		readings, kpis, workers, elapsed.Round(time.Millisecond), rate, total)
	if tps > 0 {
		t.Logf("pgbench, one insert per transaction: %.0f tps; readings at %.2f of it", tps, rate/tps)
	}
	var stored int
	if err := s.DB().GetContext(ctx, &stored, `SELECT count(*) FROM alert_events`); err != nil || stored != total {
		t.Errorf("stored events: got %d, %v, want %d", stored, err, total)
	}
}

// pgbenchInsert runs pgbench on s's database (at url) with the benchmark's
// concurrency: clients connections on 2 threads for 10 seconds, each
// transaction one bare insert into a scratch table shaped like a reading.
// It returns the transactions per second, or 0, logging why, when pgbench
// is not installed.
func pgbenchInsert(t testing.TB, s *storage.Store, url string, clients int) float64 {
	t.Helper()
	path, err := exec.LookPath("pgbench")
	if err != nil {
		t.Logf("no pgbench comparison: %v", err)
		return 0
	}
	mustExec(t, s, `
		CREATE TABLE pgbench_insert (
			id      bigserial PRIMARY KEY,
			kpi_id  bigint NOT NULL,
			value   double precision NOT NULL
		)`)
	defer mustExec(t, s, `DROP TABLE pgbench_insert`)
	script := filepath.Join(t.TempDir(), "insert.sql")
	if err := os.WriteFile(script, []byte(`\set kpi random(1, 1000)
INSERT INTO pgbench_insert (kpi_id, value) VALUES (:kpi, random() * 100);
`), 0o600); err != nil {
		t.Fatal(err)
	}
	// -n: no vacuum of pgbench's own tables, which do not exist here.
	out, err := exec.Command(path, "-n", "-c", strconv.Itoa(clients), "-j", "2", "-T", "10",
		"-f", script, url).CombinedOutput()
	if err != nil {
		t.Fatalf("pgbench: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`tps = ([0-9.]+) \(without initial connection time\)`).FindSubmatch(out)
	if m == nil {
		t.Fatalf("pgbench: no tps in its output:\n%s", out)
	}
	tps, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	return tps
}

// scaleCPU returns the CPU time used so far by this process and by the
// PostgreSQL backends connected to s's database, read from /proc (zero
// elsewhere than on Linux): on a shared machine, CPU per reading compares
// better than readings per second.
func scaleCPU(t testing.TB, s *storage.Store) [2]time.Duration {
	var pids []int
	if err := s.DB().Select(&pids, `SELECT pid FROM pg_stat_activity WHERE datname = current_database()`); err != nil {
		t.Fatal(err)
	}
	ticks := func(path string) time.Duration {
		b, err := os.ReadFile(path)
		if err != nil {
			return 0
		}
		f := strings.Fields(string(b)[strings.LastIndex(string(b), ")")+2:])
		var u, st int64
		fmt.Sscan(f[11], &u)
		fmt.Sscan(f[12], &st)
		return time.Duration(u+st) * 10 * time.Millisecond
	}
	var pg time.Duration
	for _, pid := range pids {
		pg += ticks(fmt.Sprintf("/proc/%d/stat", pid))
	}
	return [2]time.Duration{ticks("/proc/self/stat"), pg}
}
