package scheduler_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/okrbot/okrbot/okr"
	"github.com/okrbot/okrbot/scheduler"
)

// The fake Slack's side of reports: posts are recorded by report id, with
// a channel history to find them in, and a team's channel can refuse them.

func (m *fakeMessenger) PostReport(ctx context.Context, r okr.Report) (string, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.initReports()
	if reason, ok := m.unpostable[r.TeamID]; ok {
		return "", "", &okr.Error{Code: okr.EUNDELIVERABLE, Message: reason}
	}
	if err := m.reportFail; err != nil {
		return "", "", err
	}
	m.reportPosts[r.ID]++
	ts := fmt.Sprintf("9%d.%06d", r.ID, m.reportPosts[r.ID])
	m.reportHistory[r.ID] = ts
	return fmt.Sprintf("C%d", r.TeamID), ts, nil
}

func (m *fakeMessenger) FindReportPost(ctx context.Context, r okr.Report) (string, string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.initReports()
	ts, ok := m.reportHistory[r.ID]
	return fmt.Sprintf("C%d", r.TeamID), ts, ok, nil
}

func (m *fakeMessenger) initReports() {
	m.initAlerts()
	if m.reportPosts == nil {
		m.reportPosts, m.reportHistory = map[int64]int{}, map[int64]string{}
	}
}

// reportFakes is the fake Slack's report state, embedded in fakeMessenger.
type reportFakes struct {
	reportPosts   map[int64]int    // report id → posts
	reportHistory map[int64]string // report id → ts, as the channel history shows
	reportFail    error            // returned by every post while set
}

func (w *world) mustReport(tb testing.TB, kind, key string) okr.Report {
	tb.Helper()
	var r okr.Report
	if err := w.st.DB().Get(&r, `SELECT id, team_id, kind, key, state, attempts, reason, channel_id, message_ts, created_at, posted_at
		FROM reports WHERE team_id = $1 AND kind = $2 AND key = $3`, w.team.ID, kind, key); err != nil {
		tb.Fatalf("report %s %s: %v", kind, key, err)
	}
	return r
}

// TestReports lets the every-minute round find the digest due at the
// team's digest time (Friday 16:00 by default) and post it once, through
// failures, a dead poster and an unpostable channel.
func TestReports(t *testing.T) {
	ctx := context.Background()
	// Friday, March 26, 2027, 15:59 in the scheduler's zone (UTC).
	w := newWorld(t, utc(2027, 3, 26, 15, 59, 0))
	s := w.scheduler(t, "a")

	mustRun(t, "reports before the digest time", s.RunReports)
	if n := w.count(t, `SELECT count(*) FROM reports`); n != 0 {
		t.Fatalf("%d reports before the digest time, want 0", n)
	}

	w.clock.Advance(2 * time.Minute)
	w.msg.mu.Lock()
	w.msg.reportFail = fmt.Errorf("slack: service unavailable")
	w.msg.mu.Unlock()
	mustRun(t, "reports while Slack fails", s.RunReports)
	r := w.mustReport(t, okr.ReportDigest, "2027-03-26")
	if r.State != okr.ReportPending || r.Reason != "slack: service unavailable" || r.Attempts != 1 {
		t.Errorf("after a failure: %+v, want pending with the reason, one attempt", r)
	}

	w.msg.mu.Lock()
	w.msg.reportFail = nil
	w.msg.mu.Unlock()
	w.clock.Advance(time.Minute)
	mustRun(t, "reports", s.RunReports)
	mustRun(t, "reports again", s.RunReports)
	r = w.mustReport(t, okr.ReportDigest, "2027-03-26")
	if r.State != okr.ReportPosted || r.MessageTS == "" || w.msg.reportPosts[r.ID] != 1 {
		t.Errorf("after the round: %+v posted %d times, want posted once", r, w.msg.reportPosts[r.ID])
	}

	t.Run("a dead poster's report is found, not posted again", func(t *testing.T) {
		if _, err := w.st.EnqueueReport(ctx, w.team.ID, okr.ReportSummary, "manual:2027-Q1:x"); err != nil {
			t.Fatal(err)
		}
		claimed, err := w.st.ClaimReports(ctx, w.clock.Now(), "dead", time.Minute, 10)
		if err != nil || len(claimed) != 1 {
			t.Fatalf("claimed %d: %v", len(claimed), err)
		}
		// It posted, and died before recording it.
		if _, _, err := w.msg.PostReport(ctx, claimed[0]); err != nil {
			t.Fatal(err)
		}
		w.clock.Advance(scheduler.DefaultClaimLease + time.Minute)
		mustRun(t, "reports", s.PostReports)
		got := w.mustReport(t, okr.ReportSummary, "manual:2027-Q1:x")
		if got.State != okr.ReportPosted || got.MessageTS != w.msg.reportHistory[got.ID] || w.msg.reportPosts[got.ID] != 1 {
			t.Errorf("recovered: %+v posted %d times, want posted once, found in the history", got, w.msg.reportPosts[got.ID])
		}
	})

	t.Run("a report with nothing in it is skipped", func(t *testing.T) {
		w.msg.mu.Lock()
		w.msg.reportFail = &okr.Error{Code: okr.ENOTHING, Message: "nothing to report yet"}
		w.msg.mu.Unlock()
		defer func() { w.msg.mu.Lock(); w.msg.reportFail = nil; w.msg.mu.Unlock() }()
		if _, err := w.st.EnqueueReport(ctx, w.team.ID, okr.ReportDigest, "2027-04-02"); err != nil {
			t.Fatal(err)
		}
		mustRun(t, "reports", s.PostReports)
		got := w.mustReport(t, okr.ReportDigest, "2027-04-02")
		if got.State != okr.ReportFailed || got.Reason != "nothing to report yet" || got.Attempts != 1 {
			t.Errorf("empty report: %+v, want skipped (failed, nothing to report yet) after one try", got)
		}
	})

	t.Run("an unpostable channel fails the report for good", func(t *testing.T) {
		w.msg.mu.Lock()
		w.msg.initReports()
		w.msg.unpostable[w.team.ID] = "it is archived"
		w.msg.mu.Unlock()
		if _, err := w.st.EnqueueReport(ctx, w.team.ID, okr.ReportDigest, "manual::y"); err != nil {
			t.Fatal(err)
		}
		mustRun(t, "reports", s.PostReports)
		mustRun(t, "reports", s.PostReports)
		got := w.mustReport(t, okr.ReportDigest, "manual::y")
		if got.State != okr.ReportFailed || got.Reason != "it is archived" || w.msg.reportPosts[got.ID] != 0 {
			t.Errorf("unpostable: %+v, want failed with the reason, never posted", got)
		}
	})
}

func (w *world) count(tb testing.TB, query string) int {
	tb.Helper()
	var n int
	if err := w.st.DB().Get(&n, query); err != nil {
		tb.Fatal(err)
	}
	return n
}
