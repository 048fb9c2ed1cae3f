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
	CheckinStore
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
	// InstanceID names this process in the claims it makes.
	InstanceID string
	// ClaimLease is how long a sender holds a check-in; DefaultClaimLease
	// when zero.
	ClaimLease time.Duration
	// JobDone, when set, is told of every finished run of a job, with the
	// time the run started. Tests and the demo use it to move a fake clock
	// only once the scheduler is idle.
	JobDone func(job string, started time.Time)
}

// Scheduler runs okrbot's jobs.
type Scheduler struct {
	cron      gocron.Scheduler
	store     Store
	checkins  CheckinStore
	messenger Messenger
	log       *slog.Logger
	clock     clockwork.Clock
	loc       *time.Location
	// id names this process in claims.
	id      string
	planned planned
	lease   time.Duration
	jobDone func(string, time.Time)
	// checkinJob is the every-minute check-in round, to run on demand.
	checkinJob gocron.Job
}

// New returns a scheduler with every job registered, not yet started.
func New(cfg Config, store Store, messenger Messenger) (*Scheduler, error) {
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
	s := &Scheduler{
		cron: cron, store: store, checkins: store, messenger: messenger,
		log: cfg.Logger, clock: cfg.Clock, loc: cfg.Location,
		id:      cfg.InstanceID,
		lease:   cfg.ClaimLease,
		jobDone: cfg.JobDone,
		planned: planned{seen: map[plannedKey]bool{}},
	}
	if s.id == "" {
		s.id = "okrbot"
	}
	if s.lease <= 0 {
		s.lease = DefaultClaimLease
	}
	daily := func(h, m uint) gocron.JobDefinition {
		return gocron.DailyJob(1, gocron.NewAtTimes(gocron.NewAtTime(h, m, 0)))
	}
	jobs := []struct {
		name  string
		def   gocron.JobDefinition
		run   func(context.Context) error
		first bool // also run at start
	}{
		{"prune-events", daily(3, 17), s.PruneEvents, false},
		{"sync-users", daily(2, 7), s.SyncUsers, true},
		{"checkins", gocron.CronJob("* * * * *", false), s.RunCheckins, true},
	}
	for _, j := range jobs {
		opts := []gocron.JobOption{gocron.WithName(j.name), gocron.WithSingletonMode(gocron.LimitModeReschedule)}
		if j.first {
			opts = append(opts, gocron.WithStartAt(gocron.WithStartImmediately()))
		}
		job, err := cron.NewJob(j.def, gocron.NewTask(s.runner(j.name, j.run)), opts...)
		if err != nil {
			return nil, fmt.Errorf("scheduler: job %s: %w", j.name, err)
		}
		if j.name == "checkins" {
			s.checkinJob = job
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
		if s.jobDone != nil {
			defer s.jobDone(name, start)
		}
		if err := run(ctx); err != nil {
			if ctx.Err() != nil {
				s.log.Info("job interrupted by shutdown", slog.String("job", name))
				return
			}
			s.log.Error("job failed", slog.String("job", name), slog.String("error", err.Error()))
			return
		}
		s.log.Debug("job done", slog.String("job", name), slog.Duration("took", s.clock.Since(start)))
	}
}

// CheckinsNow runs the check-in round at once (for /okr checkin send). A
// round already running is followed by another.
func (s *Scheduler) CheckinsNow() {
	if err := s.checkinJob.RunNow(); err != nil {
		s.log.Warn("cannot run check-ins now", slog.String("error", err.Error()))
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
