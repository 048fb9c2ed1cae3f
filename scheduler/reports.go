package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/okrbot/okrbot/okr"
)

// ReportStore is what posting digests and summaries needs of the database:
// an outbox of reports, claimed with a lease like check-ins and alerts.
type ReportStore interface {
	// DueDigests enqueues the digest of every team whose digest time (in
	// loc) came within the last day; DueSummaries the quarterly summary of
	// every team that wants one, once the quarter's last day reached its
	// digest time, for a week. Both are idempotent; they return how many
	// reports they enqueued.
	DueDigests(ctx context.Context, now time.Time, loc *time.Location) (int, error)
	DueSummaries(ctx context.Context, now time.Time, loc *time.Location, fyStart time.Month) (int, error)
	// ClaimReports claims up to limit reports that are pending, or whose
	// poster's claim expired (returned with Recovered set), until now+lease.
	ClaimReports(ctx context.Context, now time.Time, by string, lease time.Duration, limit int) ([]okr.Report, error)
	// MarkReportPosted records a report's message, if `by` holds its claim.
	MarkReportPosted(ctx context.Context, id int64, by, channel, ts string, at time.Time) error
	// MarkReportFailed ends a report that can never be posted, with why.
	MarkReportFailed(ctx context.Context, id int64, by, reason string) error
	// ReleaseReport returns a claimed report to pending, to try again.
	ReleaseReport(ctx context.Context, id int64, by, reason string) error
}

// ReportMessenger posts reports in Slack. The bot implements it.
type ReportMessenger interface {
	// PostReport builds a report and posts it in its team's channel,
	// returning its first message. EUNDELIVERABLE means the channel will
	// never take it.
	PostReport(ctx context.Context, r okr.Report) (channel, ts string, err error)
	// FindReportPost looks in the channel's history for a report's
	// message, posted by a poster that died before recording it.
	FindReportPost(ctx context.Context, r okr.Report) (channel, ts string, found bool, err error)
}

// reportBatch is how many reports one claim takes.
const reportBatch = 20

// RunReports enqueues the digests and summaries that fell due and posts
// every pending report. It runs every minute.
func (s *Scheduler) RunReports(ctx context.Context) error {
	now := s.clock.Now()
	if n, err := s.reports.DueDigests(ctx, now, s.loc); err != nil {
		return fmt.Errorf("scheduler: due digests: %w", err)
	} else if n > 0 {
		s.log.Info("weekly digests due", slog.Int("count", n))
	}
	if n, err := s.reports.DueSummaries(ctx, now, s.loc, s.fyStart); err != nil {
		return fmt.Errorf("scheduler: due summaries: %w", err)
	} else if n > 0 {
		s.log.Info("quarterly summaries due", slog.Int("count", n))
	}
	return s.PostReports(ctx)
}

// PostReports posts every pending report, a batch at a time, like
// PostAlerts: a report taken over from a poster that died is first looked
// for in the channel, so it is never posted twice.
func (s *Scheduler) PostReports(ctx context.Context) error {
	stalled, err := drainQueue(ctx, func() ([]okr.Report, error) {
		return s.reports.ClaimReports(ctx, s.clock.Now(), s.id, s.lease, reportBatch)
	}, sendWorkers, func(r okr.Report) bool { return s.postReport(ctx, r) })
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("scheduler: claim reports: %w", err)
	}
	if stalled > 0 {
		s.log.Warn("no report of a batch could be posted; retrying next round", slog.Int("batch", stalled))
	}
	return nil
}

// ReportsNow posts pending reports at once (after /okr digest, say).
func (s *Scheduler) ReportsNow() { s.trigger(s.reportNow) }

// postReport posts one claimed report and records what happened; it
// reports whether the report reached a final state.
func (s *Scheduler) postReport(ctx context.Context, r okr.Report) bool {
	log := s.log.With(slog.Int64("report_id", r.ID), slog.Int64("team_id", r.TeamID), slog.String("kind", r.Kind), slog.String("key", r.Key))
	if r.Recovered {
		ch, ts, found, err := s.messenger.FindReportPost(ctx, r)
		if err != nil {
			log.Warn("cannot look for an earlier report post; will retry", slog.String("error", err.Error()))
			s.releaseReport(ctx, log, r, "history: "+err.Error())
			return false
		}
		if found {
			s.markReportPosted(ctx, log, r, ch, ts)
			return true
		}
	}
	ch, ts, err := s.messenger.PostReport(ctx, r)
	switch {
	case okr.ErrorCode(err) == okr.ENOTHING:
		log.Info("report skipped", slog.String("reason", okr.ErrorMessage(err)))
		if err := s.reports.MarkReportFailed(context.WithoutCancel(ctx), r.ID, s.id, okr.ErrorMessage(err)); err != nil {
			log.Error("cannot mark a report skipped", slog.String("error", err.Error()))
		}
		return true
	case okr.ErrorCode(err) == okr.EUNDELIVERABLE || okr.ErrorCode(err) == okr.ENOTFOUND:
		reason := okr.ErrorMessage(err)
		log.Warn("report cannot be posted", slog.String("reason", reason))
		if err := s.reports.MarkReportFailed(context.WithoutCancel(ctx), r.ID, s.id, reason); err != nil {
			log.Error("cannot mark a report failed", slog.String("error", err.Error()))
		}
		return true
	case outcomeUnknown(err):
		log.Warn("no answer from Slack to a report; will check the channel history once the claim expires", slog.String("error", err.Error()))
		return false
	case err != nil:
		log.Warn("report not posted; will retry", slog.String("error", err.Error()))
		s.releaseReport(ctx, log, r, err.Error())
		return false
	}
	s.markReportPosted(ctx, log, r, ch, ts)
	return true
}

func (s *Scheduler) markReportPosted(ctx context.Context, log *slog.Logger, r okr.Report, ch, ts string) {
	s.obs.ReportPosted(r.Kind)
	if err := s.reports.MarkReportPosted(context.WithoutCancel(ctx), r.ID, s.id, ch, ts, s.clock.Now()); err != nil {
		log.Error("report posted but not recorded; the channel history will tell", slog.String("error", err.Error()))
	}
}

func (s *Scheduler) releaseReport(ctx context.Context, log *slog.Logger, r okr.Report, reason string) {
	if err := s.reports.ReleaseReport(context.WithoutCancel(ctx), r.ID, s.id, reason); err != nil {
		log.Error("cannot release a report; its claim will expire", slog.String("error", err.Error()))
	}
}
