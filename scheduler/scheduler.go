// Package scheduler runs okrbot's timed work with gocron: pruning, and (in
// later releases) check-ins, reminders, digests and quarter ends. What was
// done lives in Postgres, never in the scheduler, so a restart loses nothing.
//
// It depends on the domain (okr) and on the small interfaces it declares;
// it imports neither Slack nor SQL.
package scheduler

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jonboulle/clockwork"
)

// Store is what the scheduler needs of the database.
type Store interface {
	// PruneEvents forgets processed Socket Mode events older than a time.
	PruneEvents(ctx context.Context, olderThan time.Time) (int64, error)
}

// EventRetention is how long processed events are remembered: far longer
// than Slack retries an event.
const EventRetention = 7 * 24 * time.Hour

// Config is the scheduler's setting.
type Config struct {
	// Location is the time zone of daily jobs.
	Location *time.Location
	Logger   *slog.Logger
	// Clock drives the jobs; the real clock when nil. Tests pass a fake one.
	Clock clockwork.Clock
}

// Scheduler runs okrbot's jobs.
type Scheduler struct {
	cron  gocron.Scheduler
	store Store
	log   *slog.Logger
	clock clockwork.Clock
}

// New returns a scheduler with every job registered, not yet started.
func New(cfg Config, store Store) (*Scheduler, error) {
	if cfg.Clock == nil {
		cfg.Clock = clockwork.NewRealClock()
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	cron, err := gocron.NewScheduler(
		gocron.WithClock(cfg.Clock),
		gocron.WithLocation(cfg.Location),
		gocron.WithStopTimeout(10*time.Second),
	)
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	s := &Scheduler{cron: cron, store: store, log: cfg.Logger, clock: cfg.Clock}
	jobs := []struct {
		name string
		def  gocron.JobDefinition
		run  func(context.Context) error
	}{
		{"prune-events", gocron.DailyJob(1, gocron.NewAtTimes(gocron.NewAtTime(3, 17, 0))), s.PruneEvents},
	}
	for _, j := range jobs {
		if _, err := cron.NewJob(j.def, gocron.NewTask(s.runner(j.name, j.run)),
			gocron.WithName(j.name), gocron.WithSingletonMode(gocron.LimitModeReschedule)); err != nil {
			return nil, fmt.Errorf("scheduler: job %s: %w", j.name, err)
		}
	}
	return s, nil
}

// runner wraps a job so it logs its outcome and never takes longer than an hour.
func (s *Scheduler) runner(name string, run func(context.Context) error) func(context.Context) {
	return func(ctx context.Context) {
		ctx, cancel := context.WithTimeout(ctx, time.Hour)
		defer cancel()
		start := s.clock.Now()
		if err := run(ctx); err != nil {
			s.log.Error("job failed", slog.String("job", name), slog.String("error", err.Error()))
			return
		}
		s.log.Debug("job done", slog.String("job", name), slog.Duration("took", s.clock.Since(start)))
	}
}

// Start starts the jobs.
func (s *Scheduler) Start() { s.cron.Start() }

// Shutdown stops the jobs, letting a running one finish.
func (s *Scheduler) Shutdown() error { return s.cron.Shutdown() }

// PruneEvents forgets processed events older than EventRetention.
func (s *Scheduler) PruneEvents(ctx context.Context) error {
	n, err := s.store.PruneEvents(ctx, s.clock.Now().Add(-EventRetention))
	if err != nil {
		return fmt.Errorf("scheduler: prune events: %w", err)
	}
	if n > 0 {
		s.log.Info("pruned processed events", slog.Int64("count", n))
	}
	return nil
}
