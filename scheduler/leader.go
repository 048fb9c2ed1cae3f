package scheduler

import (
	"context"
	"errors"
	"time"
)

// LeaderStore keeps the lease that decides which replica runs the jobs.
type LeaderStore interface {
	// TryLead takes or renews the lease called name for holder for ttl and
	// reports whether holder has it.
	TryLead(ctx context.Context, name, holder string, ttl time.Duration) (bool, error)
	// ReleaseLead gives the lease up, so another replica takes over at once.
	ReleaseLead(ctx context.Context, name, holder string) error
}

// DefaultLeaseTTL is how long the scheduler lease outlives a replica that
// stopped renewing it: longer than the minute between check-in rounds, so
// a live leader keeps it.
const DefaultLeaseTTL = 90 * time.Second

// leaseName is the lease of okrbot's scheduled jobs.
const leaseName = "scheduler"

// errNotLeader tells gocron to skip a run on this replica.
var errNotLeader = errors.New("scheduler: another replica holds the lease")

// elector is a gocron Elector backed by the lease: gocron asks it before
// every run, and the answer renews the lease for its holder.
type elector struct {
	store  LeaderStore
	holder string
	ttl    time.Duration
}

// IsLeader implements gocron.Elector.
func (e *elector) IsLeader(ctx context.Context) error {
	ok, err := e.store.TryLead(ctx, leaseName, e.holder, e.ttl)
	if err != nil {
		return err
	}
	if !ok {
		return errNotLeader
	}
	return nil
}
