package scheduler_test

import (
	"context"
	"testing"
	"time"

	"github.com/jonboulle/clockwork"

	"github.com/okrbot/okrbot/internal/pgtest"
	"github.com/okrbot/okrbot/scheduler"
	"github.com/okrbot/okrbot/storage"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

// signallingStore tells the test when the scheduler pruned.
type signallingStore struct {
	*storage.Store
	pruned chan int64
}

func (s signallingStore) PruneEvents(ctx context.Context, olderThan time.Time) (int64, error) {
	n, err := s.Store.PruneEvents(ctx, olderThan)
	s.pruned <- n
	return n, err
}

func mustOpenStore(tb testing.TB) *storage.Store {
	tb.Helper()
	st, err := storage.Open(context.Background(), pgtest.FreshDatabase(tb))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	if err := st.Migrate(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return st
}

func TestPruneEventsRunsDailyAndKeepsRecentOnes(t *testing.T) {
	ctx := context.Background()
	st := mustOpenStore(t)
	berlin, _ := time.LoadLocation("Europe/Berlin")
	start := time.Date(2027, 3, 10, 3, 0, 0, 0, berlin) // 17 minutes before the job
	clock := clockwork.NewFakeClockAt(start)

	for _, e := range []struct {
		key string
		at  time.Time
	}{
		{"old", start.Add(-8 * 24 * time.Hour)},
		{"recent", start.Add(-6 * 24 * time.Hour)},
	} {
		st.Now = func() time.Time { return e.at }
		if ok, err := st.ClaimEvent(ctx, e.key); err != nil || !ok {
			t.Fatalf("claim %s: %v %v", e.key, ok, err)
		}
	}

	spy := signallingStore{Store: st, pruned: make(chan int64, 1)}
	s, err := scheduler.New(scheduler.Config{Location: berlin, Clock: clock}, spy, &fakeMessenger{})
	if err != nil {
		t.Fatal(err)
	}
	s.Start()
	stopped := false
	defer func() {
		if !stopped {
			s.Shutdown()
		}
	}()

	wctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	// Every job waits on the clock: the daily ones and the minute rounds (check-ins, reports).
	if err := clock.BlockUntilContext(wctx, 5); err != nil {
		t.Fatal(err)
	}
	select {
	case n := <-spy.pruned:
		t.Fatalf("pruned %d before the job was due", n)
	default:
	}
	clock.Advance(18 * time.Minute)
	select {
	case n := <-spy.pruned:
		if n != 1 {
			t.Errorf("pruned %d events, want 1 (only the one older than 7 days)", n)
		}
	case <-wctx.Done():
		t.Fatal("the prune job did not run at 03:17")
	}
	// The recent one is still remembered: claiming it again is refused.
	// (The scheduler stops first: its jobs read the store's clock.)
	if err := s.Shutdown(); err != nil {
		t.Fatal(err)
	}
	stopped = true
	st.Now = time.Now
	if ok, err := st.ClaimEvent(ctx, "recent"); err != nil || ok {
		t.Errorf("claim recent again: got %v %v, want false (still remembered)", ok, err)
	}
	if ok, err := st.ClaimEvent(ctx, "old"); err != nil || !ok {
		t.Errorf("claim old again: got %v %v, want true (forgotten)", ok, err)
	}
}
