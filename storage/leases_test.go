package storage_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"
)

func TestLeases(t *testing.T) {
	ctx := context.Background()
	s := mustOpenFresh(t)

	mustLead := func(holder string, ttl time.Duration, want bool) {
		t.Helper()
		got, err := s.TryLead(ctx, "scheduler", holder, ttl)
		if err != nil {
			t.Fatal(err)
		}
		if got != want {
			t.Errorf("TryLead(%s): got %v, want %v", holder, got, want)
		}
	}
	mustLead("a", time.Minute, true)
	mustLead("a", time.Minute, true) // renewing
	mustLead("b", time.Minute, false)

	t.Run("an expired lease passes to another", func(t *testing.T) {
		mustLead("a", time.Minute, true)
		// Let a's lease run out, as if a had died a minute ago.
		if _, err := s.DB().ExecContext(ctx, `UPDATE scheduler_leases SET expires_at = now() - interval '1 second' WHERE name = 'scheduler'`); err != nil {
			t.Fatal(err)
		}
		mustLead("b", time.Minute, true)
		mustLead("a", time.Minute, false)
	})
	t.Run("a released lease passes at once", func(t *testing.T) {
		if err := s.ReleaseLead(ctx, "scheduler", "b"); err != nil {
			t.Fatal(err)
		}
		mustLead("a", time.Minute, true)
	})
	t.Run("one leader among many", func(t *testing.T) {
		var wg sync.WaitGroup
		var mu sync.Mutex
		leaders := 0
		for i := range 20 {
			wg.Go(func() {
				ok, err := s.TryLead(ctx, "race", fmt.Sprintf("r%d", i), time.Minute)
				if err != nil {
					t.Error(err)
				}
				if ok {
					mu.Lock()
					leaders++
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		if leaders != 1 {
			t.Errorf("got %d leaders, want 1", leaders)
		}
	})
}
