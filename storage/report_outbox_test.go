package storage_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/okrbot/okrbot/okr"
	"github.com/okrbot/okrbot/storage"
)

func TestReportOutbox(t *testing.T) {
	ctx := context.Background()
	s := mustOpenFresh(t)
	lead := unique("U")
	team := mustCreateTeam(t, s, lead)

	t.Run("enqueue", func(t *testing.T) {
		for _, tt := range []struct {
			kind, key string
			want      bool
		}{
			{okr.ReportDigest, "2027-04-16", true},
			{okr.ReportDigest, "2027-04-16", false},
			{okr.ReportSummary, "2027-04-16", true},
			{okr.ReportDigest, "manual:1", true},
		} {
			created, err := s.EnqueueReport(ctx, team.ID, tt.kind, tt.key)
			if err != nil || created != tt.want {
				t.Errorf("enqueue %s %s: got %v, %v, want %v", tt.kind, tt.key, created, err, tt.want)
			}
		}
		_, err := s.EnqueueReport(ctx, team.ID, "weekly", "x")
		wantCode(t, err, okr.EINVALID)
		_, err = s.EnqueueReport(ctx, team.ID, okr.ReportDigest, " ")
		wantCode(t, err, okr.EINVALID)
		_, err = s.EnqueueReport(ctx, -1, okr.ReportDigest, "x")
		wantCode(t, err, okr.ENOTFOUND)
	})

	var first okr.Report
	t.Run("claim", func(t *testing.T) {
		got, err := s.ClaimReports(ctx, now, "poster-a", time.Minute, 2)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[0].Key != "2027-04-16" || got[0].Kind != okr.ReportDigest || got[1].Kind != okr.ReportSummary {
			t.Fatalf("claimed: got %+v, want the digest and the summary of 2027-04-16", got)
		}
		first = got[0]
		if first.TeamID != team.ID || first.Attempts != 1 || first.Recovered || first.State != okr.ReportPending || !first.CreatedAt.Equal(now) {
			t.Errorf("claimed: got %+v", first)
		}
		rest, err := s.ClaimReports(ctx, now, "poster-b", time.Minute, 10)
		if err != nil || len(rest) != 1 || rest[0].Key != "manual:1" {
			t.Fatalf("claimed by b: got %+v, %v, want manual:1 alone", rest, err)
		}
		if none, err := s.ClaimReports(ctx, now.Add(30*time.Second), "poster-b", time.Minute, 10); err != nil || len(none) != 0 {
			t.Errorf("while claimed: got %+v, %v, want none", none, err)
		}
		if err := s.ReleaseReport(ctx, rest[0].ID, "poster-b", "Slack is down"); err != nil {
			t.Fatal(err)
		}
		again, err := s.ClaimReports(ctx, now.Add(30*time.Second), "poster-b", time.Minute, 10)
		if err != nil || len(again) != 1 || again[0].Recovered || again[0].Attempts != 2 || again[0].Reason != "Slack is down" {
			t.Errorf("released: got %+v, %v, want manual:1, not recovered, a second attempt", again, err)
		}
	})

	t.Run("recover", func(t *testing.T) {
		got, err := s.ClaimReports(ctx, now.Add(2*time.Minute), "poster-b", time.Minute, 1)
		if err != nil || len(got) != 1 || got[0].ID != first.ID || !got[0].Recovered || got[0].Attempts != 2 {
			t.Fatalf("recovered: got %+v, %v, want the first report, recovered, attempt 2", got, err)
		}
		wantCode(t, s.MarkReportPosted(ctx, first.ID, "poster-a", "C1", "1.1", now), okr.ECONFLICT)
		postedAt := now.Add(2 * time.Minute)
		if err := s.MarkReportPosted(ctx, first.ID, "poster-b", "C1", "1.2", postedAt); err != nil {
			t.Fatal(err)
		}
		r, err := s.Report(ctx, first.ID)
		if err != nil {
			t.Fatal(err)
		}
		if r.State != okr.ReportPosted || r.ChannelID != "C1" || r.MessageTS != "1.2" || r.PostedAt == nil || !r.PostedAt.Equal(postedAt) {
			t.Errorf("posted: got %+v", r)
		}
		wantCode(t, s.MarkReportPosted(ctx, first.ID, "poster-b", "C1", "1.3", postedAt), okr.ECONFLICT)
		if got, err := s.ClaimReports(ctx, now.Add(time.Hour), "poster-c", time.Minute, 10); err != nil || slices.ContainsFunc(got, func(r okr.Report) bool { return r.ID == first.ID }) {
			t.Errorf("a posted report was claimed again: %+v, %v", got, err)
		}
	})

	t.Run("fail", func(t *testing.T) {
		created, err := s.EnqueueReport(ctx, team.ID, okr.ReportSummary, "2027-Q1")
		if err != nil || !created {
			t.Fatal(created, err)
		}
		got, err := s.ClaimReports(ctx, now.Add(3*time.Hour), "poster-d", time.Minute, 10)
		if err != nil {
			t.Fatal(err)
		}
		var r okr.Report
		for _, c := range got {
			if c.Key == "2027-Q1" {
				r = c
			}
		}
		if r.ID == 0 {
			t.Fatalf("claimed: got %+v, want the summary of 2027-Q1 among them", got)
		}
		wantCode(t, s.MarkReportFailed(ctx, r.ID, "poster-x", "nope"), okr.ECONFLICT)
		if err := s.MarkReportFailed(ctx, r.ID, "poster-d", "channel_not_found"); err != nil {
			t.Fatal(err)
		}
		stored, err := s.Report(ctx, r.ID)
		if err != nil || stored.State != okr.ReportFailed || stored.Reason != "channel_not_found" {
			t.Errorf("failed: got %+v, %v", stored, err)
		}
		wantCode(t, s.ReleaseReport(ctx, r.ID, "poster-d", "again"), okr.ECONFLICT)
		_, err = s.Report(ctx, -1)
		wantCode(t, err, okr.ENOTFOUND)
	})

	t.Run("the last posted digest is the next one's since", func(t *testing.T) {
		d, err := s.DigestData(ctx, team.ID, q1, now.Add(time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if want := now.Add(2 * time.Minute); !d.Since.Equal(want) {
			t.Errorf("since: got %v, want %v", d.Since, want)
		}
	})
}

// reportKeys returns the keys of a kind of report, by team.
func reportKeys(t *testing.T, s *storage.Store, kind string) map[int64][]string {
	t.Helper()
	var rows []struct {
		TeamID int64  `db:"team_id"`
		Key    string `db:"key"`
	}
	if err := s.DB().SelectContext(context.Background(), &rows, `
		SELECT team_id, key FROM reports WHERE kind = $1 ORDER BY team_id, key`, kind); err != nil {
		t.Fatal(err)
	}
	keys := map[int64][]string{}
	for _, r := range rows {
		keys[r.TeamID] = append(keys[r.TeamID], r.Key)
	}
	return keys
}

func TestDueDigests(t *testing.T) {
	ctx := context.Background()
	s := mustOpenFresh(t)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	lead := unique("U")
	friday := mustCreateTeam(t, s, lead) // Friday 16:00
	monday := mustCreateTeam(t, s, lead)
	sc := okr.DefaultSchedule(monday.ID)
	sc.DigestWeekday, sc.DigestMinute = time.Monday, 30
	if err := s.UpdateSchedule(ctx, sc, lead); err != nil {
		t.Fatal(err)
	}
	local := func(month time.Month, day, hour, minute int) time.Time {
		return time.Date(2027, month, day, hour, minute, 0, 0, berlin)
	}
	for _, tt := range []struct {
		name string
		now  time.Time
		want int
	}{
		{"Friday before the digest time", local(time.April, 16, 15, 59), 0},
		{"Friday at the digest time", local(time.April, 16, 16, 0), 1},
		{"Friday later", local(time.April, 16, 18, 0), 0},
		{"Saturday, 24 hours on, nothing new", local(time.April, 17, 15, 59), 0},
		{"Monday 00:29", local(time.April, 19, 0, 29), 0},
		{"Tuesday 00:15, within a day of Monday's", local(time.April, 20, 0, 15), 1},
		{"Tuesday 00:30, a day after", local(time.April, 20, 0, 30), 0},
		{"the next Friday", local(time.April, 23, 16, 0), 1},
	} {
		n, err := s.DueDigests(ctx, tt.now.UTC(), berlin)
		if err != nil || n != tt.want {
			t.Errorf("%s: got %d, %v, want %d", tt.name, n, err, tt.want)
		}
	}
	want := map[int64][]string{friday.ID: {"2027-04-16", "2027-04-23"}, monday.ID: {"2027-04-19"}}
	if got := reportKeys(t, s, okr.ReportDigest); !reflect.DeepEqual(got, want) {
		t.Errorf("digests: got %v, want %v", got, want)
	}

	// Without the one enqueued, the window still closes 24 hours on.
	mustExec(t, s, `DELETE FROM reports WHERE team_id = $1`, monday.ID)
	if n, err := s.DueDigests(ctx, local(time.April, 20, 0, 30).UTC(), berlin); err != nil || n != 0 {
		t.Errorf("24 hours on: got %d, %v, want 0", n, err)
	}
	if n, err := s.DueDigests(ctx, local(time.April, 20, 0, 29).UTC(), berlin); err != nil || n != 1 {
		t.Errorf("a minute before: got %d, %v, want 1", n, err)
	}
}

func TestDueSummaries(t *testing.T) {
	ctx := context.Background()
	s := mustOpenFresh(t)
	berlin, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		t.Fatal(err)
	}
	lead := unique("U")
	on := mustCreateTeam(t, s, lead) // digest time 16:00
	off := mustCreateTeam(t, s, lead)
	sc := okr.DefaultSchedule(off.ID)
	sc.QuarterSummary = false
	if err := s.UpdateSchedule(ctx, sc, lead); err != nil {
		t.Fatal(err)
	}
	local := func(month time.Month, day, hour, minute int) time.Time {
		return time.Date(2027, month, day, hour, minute, 0, 0, berlin)
	}
	var late *okr.Team
	for _, tt := range []struct {
		name string
		now  time.Time
		want int
	}{
		{"mid-quarter", local(time.May, 15, 12, 0), 0},
		{"the last day, before the digest time", local(time.June, 30, 15, 59), 0},
		{"the last day at the digest time", local(time.June, 30, 16, 0), 1},
		{"a few days on", local(time.July, 4, 12, 0), 0},
		{"a team created since, just within 7 days", local(time.July, 7, 23, 59), 1},
		{"7 days after the quarter", local(time.July, 8, 0, 0), 0},
	} {
		if tt.name == "a team created since, just within 7 days" {
			late = mustCreateTeam(t, s, lead)
		}
		n, err := s.DueSummaries(ctx, tt.now.UTC(), berlin, time.April)
		if err != nil || n != tt.want {
			t.Errorf("%s: got %d, %v, want %d", tt.name, n, err, tt.want)
		}
	}
	mustCreateTeam(t, s, lead)
	if n, err := s.DueSummaries(ctx, local(time.July, 8, 0, 0).UTC(), berlin, time.April); err != nil || n != 0 {
		t.Errorf("a team created after 7 days: got %d, %v, want 0", n, err)
	}
	want := map[int64][]string{on.ID: {"2027-Q1"}, late.ID: {"2027-Q1"}}
	if got := reportKeys(t, s, okr.ReportSummary); !reflect.DeepEqual(got, want) {
		t.Errorf("summaries: got %v, want %v", got, want)
	}
}
