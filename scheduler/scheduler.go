// Package scheduler runs okrbot's timed work with gocron: pruning, check-ins
// and reminders, alerts and the daily pace check, weekly digests and
// quarterly summaries. What was done lives in Postgres, never in the scheduler, so a restart loses nothing.
//
// It depends on the domain (okr) and on the small interfaces it declares;
// it imports neither Slack nor SQL.
package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-co-op/gocron/v2"
	"github.com/jonboulle/clockwork"
)

// Store is what the scheduler needs of the database.
type Store interface {
	// PruneEvents forgets processed Socket Mode events older than a time.
	PruneEvents(ctx context.Context, olderThan time.Time) (int64, error)
	CheckinStore
	AlertStore
	ReportStore
}

// EventRetention is how long processed events are remembered: far longer
// than Slack retries an event.
const EventRetention = 7 * 24 * time.Hour

// Config is the scheduler's setting.
type Config struct {
	// Location is the time zone of daily jobs and of digest times.
	Location *time.Location
	// FiscalYearStart is the month the fiscal year starts in, for quarter
	// ends; January when zero.
	FiscalYearStart time.Month
	Logger          *slog.Logger
	// Clock drives the jobs; the real clock when nil. Tests pass a fake one.
	Clock clockwork.Clock
	// InstanceID names this process in the claims it makes.
	InstanceID string
	// ClaimLease is how long a sender holds a check-in; DefaultClaimLease
	// when zero.
	ClaimLease time.Duration
	// Observer is told of job runs, check-ins and alerts, for metrics.
	Observer Observer
	// Leader, when set, makes the jobs run on one replica at a time: the
	// one holding the "scheduler" lease, taken for LeaseTTL and renewed at
	// every run.
	Leader LeaderStore
	// LeaseTTL is how long a lease outlives its holder; DefaultLeaseTTL
	// when zero.
	LeaseTTL time.Duration
	// JobDone, when set, is told of every finished run of a job (and of
	// on-demand runs: checkins-now, alerts-now, reports-now), with the time
	// it started. Tests and the demo use it to move a fake clock
	// only once the scheduler is idle.
	JobDone func(job string, started time.Time)
}

// Scheduler runs okrbot's jobs.
type Scheduler struct {
	cron      gocron.Scheduler
	store     Store
	checkins  CheckinStore
	alerts    AlertStore
	reports   ReportStore
	messenger Messenger
	log       *slog.Logger
	clock     clockwork.Clock
	loc       *time.Location
	fyStart   time.Month
	// id names this process in claims.
	id      string
	planned planned
	lease   time.Duration
	// lookups lets one recovered check-in at a time look in its DM history.
	lookups chan struct{}
	jobDone func(string, time.Time)
	obs     Observer
	leader  LeaderStore
	// Work run on demand, outside the schedule (CheckinsNow, AlertsNow),
	// stopped by Shutdown through adhocCtx.
	sendNow, postNow, reportNow *onDemand
	adhocMu                     sync.Mutex
	closing                     bool // Shutdown began: no new on-demand run
	adhoc                       sync.WaitGroup
	adhocCtx                    context.Context
	stopAdhoc                   context.CancelFunc
}

// onDemand is work run when asked rather than on a schedule: one run at a
// time, and a request made while it runs makes it go round once more, so
// nothing asked for waits for the next scheduled round.
type onDemand struct {
	name           string
	run            func(context.Context) error
	again, running atomic.Bool
}

// trigger runs d now, or once more after its current run.
func (s *Scheduler) trigger(d *onDemand) {
	d.again.Store(true)
	if !d.running.CompareAndSwap(false, true) {
		return
	}
	s.adhocMu.Lock()
	defer s.adhocMu.Unlock()
	ctx := s.adhocCtx
	if s.closing || ctx.Err() != nil {
		d.running.Store(false)
		return // shutting down: the next start does it
	}
	s.adhoc.Add(1)
	go func() {
		defer s.adhoc.Done()
		for {
			for d.again.Swap(false) && ctx.Err() == nil {
				start := s.clock.Now()
				if err := d.run(ctx); err != nil && ctx.Err() == nil {
					s.log.Error("on-demand run failed; the next round retries", slog.String("job", d.name), slog.String("error", err.Error()))
				}
				if s.jobDone != nil {
					s.jobDone(d.name, start)
				}
			}
			d.running.Store(false)
			// Asked again between the last pass and the release, and no
			// other run took over: go on.
			if ctx.Err() != nil || !d.again.Load() || !d.running.CompareAndSwap(false, true) {
				return
			}
		}
	}()
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
	if cfg.Observer == nil {
		cfg.Observer = nopObserver{}
	}
	opts := []gocron.SchedulerOption{
		gocron.WithClock(cfg.Clock),
		gocron.WithLocation(cfg.Location),
		gocron.WithStopTimeout(10 * time.Second),
	}
	if cfg.Leader != nil {
		if cfg.LeaseTTL <= 0 {
			cfg.LeaseTTL = DefaultLeaseTTL
		}
		if cfg.InstanceID == "" {
			return nil, errors.New("scheduler: a lease needs an InstanceID")
		}
		opts = append(opts, gocron.WithDistributedElector(&elector{store: cfg.Leader, holder: cfg.InstanceID, ttl: cfg.LeaseTTL}))
	}
	cron, err := gocron.NewScheduler(opts...)
	if err != nil {
		return nil, fmt.Errorf("scheduler: %w", err)
	}
	s := &Scheduler{
		cron: cron, store: store, checkins: store, alerts: store, reports: store, messenger: messenger,
		log: cfg.Logger, clock: cfg.Clock, loc: cfg.Location, fyStart: cfg.FiscalYearStart,
		id:      cfg.InstanceID,
		lease:   cfg.ClaimLease,
		jobDone: cfg.JobDone,
		obs:     cfg.Observer,
		leader:  cfg.Leader,
		planned: planned{seen: map[plannedKey]bool{}},
		lookups: make(chan struct{}, 1),
	}
	s.adhocCtx, s.stopAdhoc = context.WithCancel(context.Background())
	s.sendNow = &onDemand{name: "checkins-now", run: s.SendCheckins}
	s.postNow = &onDemand{name: "alerts-now", run: s.PostAlerts}
	s.reportNow = &onDemand{name: "reports-now", run: s.PostReports}
	if s.fyStart == 0 {
		s.fyStart = time.January
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
		// fromEnd measures the interval from the end of the last run: after
		// a jump of the clock one run catches up, not one per minute missed.
		fromEnd bool
	}{
		{"prune-events", daily(3, 17), s.PruneEvents, false, false},
		{"sync-users", daily(2, 7), s.SyncUsers, true, false},
		// Every minute from the last run, not on the minute: after a jump of
		// the clock (a suspended host, a fake clock in tests) a cron job
		// would replay every minute missed, where one round catches up all.
		{"checkins", gocron.DurationJob(time.Minute), s.RunCheckins, true, true},
		{"pace", daily(6, 0), s.CheckPace, false, false},
		// Digests and summaries fall due at each team's digest time.
		{"reports", gocron.DurationJob(time.Minute), s.RunReports, true, true},
	}
	for _, j := range jobs {
		// No gocron singleton mode: runner keeps a job from overlapping itself.
		opts := []gocron.JobOption{gocron.WithName(j.name)}
		if j.first {
			opts = append(opts, gocron.WithStartAt(gocron.WithStartImmediately()))
		}
		if j.fromEnd {
			opts = append(opts, gocron.WithIntervalFromCompletion())
		}
		if _, err := cron.NewJob(j.def, gocron.NewTask(s.runner(j.name, j.run)), opts...); err != nil {
			return nil, fmt.Errorf("scheduler: job %s: %w", j.name, err)
		}
	}
	return s, nil
}

// runner wraps a job so it never overlaps itself (a run due while the last
// one is still going is skipped: the next one does the work), logs its
// outcome and never takes longer than an hour. JobDone is told once the job
// is free to run again; gocron's singleton mode frees a job only some time
// after its task returns, so a fake clock moved on at JobDone could land on
// a run that it still skips.
func (s *Scheduler) runner(name string, run func(context.Context) error) func(context.Context) {
	var running sync.Mutex
	return func(ctx context.Context) {
		if !running.TryLock() {
			s.log.Debug("job still running; this run is skipped", slog.String("job", name))
			return
		}
		start, wall := s.clock.Now(), time.Now()
		if s.jobDone != nil {
			defer s.jobDone(name, start)
		}
		defer running.Unlock()
		ctx, cancel := context.WithTimeout(ctx, time.Hour)
		defer cancel()
		err := run(ctx)
		s.obs.JobRun(name, err != nil && ctx.Err() == nil, time.Since(wall))
		if err != nil {
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

// adhocGrace is how long Shutdown lets on-demand runs finish.
const adhocGrace = 5 * time.Second

// CheckinsNow sends due check-ins at once (for /okr checkin send), beside
// the minute's round if one is running: claims keep them apart.
func (s *Scheduler) CheckinsNow() { s.trigger(s.sendNow) }

// Start starts the jobs.
func (s *Scheduler) Start() { s.cron.Start() }

// Shutdown stops the jobs, letting a running one finish, and gives up the
// lease so another replica takes over at once.
func (s *Scheduler) Shutdown() error {
	// On-demand runs under way (a report, alerts) get a moment to finish:
	// a post cut off mid-way is left to a later claim to find.
	s.adhocMu.Lock()
	s.closing = true
	s.adhocMu.Unlock()
	finished := make(chan struct{})
	go func() { s.adhoc.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(adhocGrace):
	}
	s.adhocMu.Lock()
	s.stopAdhoc()
	s.adhocMu.Unlock()
	<-finished
	err := s.cron.Shutdown()
	if s.leader != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if rerr := s.leader.ReleaseLead(ctx, leaseName, s.id); rerr != nil {
			s.log.Warn("cannot release the scheduler lease; it will expire", slog.String("error", rerr.Error()))
		}
	}
	return err
}

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
