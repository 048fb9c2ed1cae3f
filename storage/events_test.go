package storage_test

import (
	"context"
	"sync"
	"testing"
	"time"
)

func TestClaimEvent(t *testing.T) {
	ctx := context.Background()
	s := MustOpenStore(t)

	t.Run("once", func(t *testing.T) {
		key := unique("Ev")
		for i, want := range []bool{true, false, false} {
			got, err := s.ClaimEvent(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("claim %d: got %v, want %v", i+1, got, want)
			}
		}
	})

	t.Run("concurrently", func(t *testing.T) {
		key := unique("Ev")
		const n = 20
		var (
			wg     sync.WaitGroup
			mu     sync.Mutex
			claims int
			errs   []error
		)
		start := make(chan struct{})
		for range n {
			wg.Go(func() {
				<-start
				ok, err := s.ClaimEvent(ctx, key)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs = append(errs, err)
				}
				if ok {
					claims++
				}
			})
		}
		close(start)
		wg.Wait()
		if len(errs) > 0 {
			t.Fatalf("errors: %v", errs)
		}
		if claims != 1 {
			t.Errorf("successful claims: got %d, want 1", claims)
		}
	})

	t.Run("prune", func(t *testing.T) {
		old, recent := unique("Ev"), unique("Ev")
		s.Now = func() time.Time { return now.Add(-48 * time.Hour) }
		if _, err := s.ClaimEvent(ctx, old); err != nil {
			t.Fatal(err)
		}
		s.Now = func() time.Time { return now }
		if _, err := s.ClaimEvent(ctx, recent); err != nil {
			t.Fatal(err)
		}
		n, err := s.PruneEvents(ctx, now.Add(-24*time.Hour))
		if err != nil {
			t.Fatal(err)
		}
		if n < 1 {
			t.Errorf("pruned: got %d, want at least 1", n)
		}
		for key, want := range map[string]bool{old: true, recent: false} {
			got, err := s.ClaimEvent(ctx, key)
			if err != nil {
				t.Fatal(err)
			}
			if got != want {
				t.Errorf("claim of %s after pruning: got %v, want %v", key, got, want)
			}
		}
	})
}
