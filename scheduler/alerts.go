package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/okrbot/okrbot/okr"
)

// AlertStore is what posting alerts needs of the database: an outbox of
// alert events, claimed with a lease like check-ins.
type AlertStore interface {
	// ClaimAlertEvents claims up to limit events that are pending, or whose
	// poster's claim expired (returned with Recovered set), until now+lease.
	ClaimAlertEvents(ctx context.Context, now time.Time, by string, lease time.Duration, limit int) ([]okr.AlertEvent, error)
	// MarkAlertPosted records an event's message, if `by` holds its claim,
	// and, for an event that opened an alert, the alert's message.
	MarkAlertPosted(ctx context.Context, id int64, by, channel, ts string, at time.Time) error
	// MarkAlertFailed ends an event that can never be posted (the channel
	// is gone or closed to the bot) with the reason; its alert stays open.
	MarkAlertFailed(ctx context.Context, id int64, by, reason string) error
	// ReleaseAlertEvent returns a claimed event to pending, to try again.
	ReleaseAlertEvent(ctx context.Context, id int64, by, reason string) error
	// EvaluatePace checks every active metric key result of an open period
	// against the pace at now, writing behind-pace alert events for changes.
	// It returns how many events it wrote.
	EvaluatePace(ctx context.Context, now time.Time) (int, error)
}

// AlertMessenger posts alerts in Slack. The bot implements it.
type AlertMessenger interface {
	// PostAlert posts an event in its team's channel. EUNDELIVERABLE means
	// the channel will never take it (archived, not found, not a member).
	PostAlert(ctx context.Context, ev okr.AlertEvent) (channel, ts string, err error)
	// FindAlertPost looks in the channel's history for an event's message,
	// posted by a poster that died before recording it.
	FindAlertPost(ctx context.Context, ev okr.AlertEvent) (channel, ts string, found bool, err error)
	// ReportUnpostable tells the team's leads, by DM, that an alert could
	// not be posted in the channel, and why.
	ReportUnpostable(ctx context.Context, ev okr.AlertEvent, reason string) error
}

// alertBatch is how many alert events one claim takes.
const alertBatch = 50

// PostAlerts posts every pending alert event in its team's channel, a batch
// at a time, until none is left or a whole batch failed (Slack is down: the
// next round tries again). An event taken over from a poster that died is
// first looked for in the channel, so it is never posted twice. It runs in
// every check-in round, and at once when asked (AlertsNow).
func (s *Scheduler) PostAlerts(ctx context.Context) error {
	stalled, err := drainQueue(ctx, func() ([]okr.AlertEvent, error) {
		return s.alerts.ClaimAlertEvents(ctx, s.clock.Now(), s.id, s.lease, alertBatch)
	}, sendWorkers, func(ev okr.AlertEvent) bool { return s.postAlert(ctx, ev) })
	if err != nil {
		if ctx.Err() != nil {
			return err
		}
		return fmt.Errorf("scheduler: claim alert events: %w", err)
	}
	if stalled > 0 {
		s.log.Warn("no alert of a batch could be posted; retrying next round", slog.Int("batch", stalled))
	}
	return nil
}

// postAlert posts one claimed event and records what happened. It reports
// whether the event reached a final state (posted or failed) rather than
// being released to try again.
func (s *Scheduler) postAlert(ctx context.Context, ev okr.AlertEvent) bool {
	log := s.log.With(slog.Int64("alert_event_id", ev.ID), slog.Int64("team_id", ev.TeamID), slog.String("rule", string(ev.Rule)))
	if ev.Recovered {
		ch, ts, found, err := s.messenger.FindAlertPost(ctx, ev)
		if err != nil {
			log.Warn("cannot look for an earlier alert post; will retry", slog.String("error", err.Error()))
			s.releaseAlert(ctx, log, ev, "history: "+err.Error())
			return false
		}
		if found {
			s.markAlertPosted(ctx, log, ev, ch, ts)
			return true
		}
	}
	ch, ts, err := s.messenger.PostAlert(ctx, ev)
	switch {
	case okr.ErrorCode(err) == okr.EUNDELIVERABLE:
		reason := okr.ErrorMessage(err)
		log.Warn("alert cannot be posted", slog.String("reason", reason))
		if err := s.messenger.ReportUnpostable(ctx, ev, reason); err != nil {
			log.Error("cannot tell the team's leads about an unpostable alert", slog.String("error", err.Error()))
		}
		if err := s.alerts.MarkAlertFailed(context.WithoutCancel(ctx), ev.ID, s.id, reason); err != nil {
			log.Error("cannot mark an alert event failed", slog.String("error", err.Error()))
		}
		return true
	case outcomeUnknown(err):
		log.Warn("no answer from Slack to an alert; will check the channel history once the claim expires", slog.String("error", err.Error()))
		return false
	case err != nil:
		log.Warn("alert not posted; will retry", slog.String("error", err.Error()))
		s.releaseAlert(ctx, log, ev, err.Error())
		return false
	}
	s.markAlertPosted(ctx, log, ev, ch, ts)
	return true
}

func (s *Scheduler) markAlertPosted(ctx context.Context, log *slog.Logger, ev okr.AlertEvent, ch, ts string) {
	// Recording must happen even when shutting down: the message is out.
	s.obs.AlertPosted(string(ev.Rule))
	if err := s.alerts.MarkAlertPosted(context.WithoutCancel(ctx), ev.ID, s.id, ch, ts, s.clock.Now()); err != nil {
		log.Error("alert posted but not recorded; the channel history will tell", slog.String("error", err.Error()))
	}
}

func (s *Scheduler) releaseAlert(ctx context.Context, log *slog.Logger, ev okr.AlertEvent, reason string) {
	if err := s.alerts.ReleaseAlertEvent(context.WithoutCancel(ctx), ev.ID, s.id, reason); err != nil {
		log.Error("cannot release an alert event; its claim will expire", slog.String("error", err.Error()))
	}
}

// CheckPace writes behind-pace alert events for every key result whose
// pace changed, then posts them. It runs daily.
func (s *Scheduler) CheckPace(ctx context.Context) error {
	n, err := s.alerts.EvaluatePace(ctx, s.clock.Now())
	if err != nil {
		return fmt.Errorf("scheduler: evaluate pace: %w", err)
	}
	if n > 0 {
		s.log.Info("behind-pace alerts raised", slog.Int("count", n))
	}
	return s.PostAlerts(ctx)
}

// AlertsNow posts pending alert events at once, outside the schedule (after
// a reading, say).
func (s *Scheduler) AlertsNow() { s.trigger(s.postNow) }

// drainQueue claims batches with claim and handles their items on up to
// workers goroutines, until a claim comes back empty or no item of a batch
// was handled for good (then it returns the batch's size as stalled, and
// the next round tries again, rather than this one spinning).
func drainQueue[T any](ctx context.Context, claim func() ([]T, error), workers int, handle func(T) bool) (stalled int, err error) {
	for ctx.Err() == nil {
		batch, err := claim()
		if err != nil {
			return 0, err
		}
		if len(batch) == 0 {
			return 0, nil
		}
		work := make(chan T)
		var wg sync.WaitGroup
		var progress atomic.Int64
		for range min(workers, len(batch)) {
			wg.Go(func() {
				for item := range work {
					if handle(item) {
						progress.Add(1)
					}
				}
			})
		}
		for _, item := range batch {
			work <- item
		}
		close(work)
		wg.Wait()
		if progress.Load() == 0 {
			return len(batch), nil
		}
	}
	return 0, ctx.Err()
}
