package bot

import (
	"context"
	"testing"
	"time"
)

// waited runs g.wait in the background and returns a channel closed when
// it returns.
func waited(ctx context.Context, g *ackGate) chan struct{} {
	done := make(chan struct{})
	go func() { g.wait(ctx); close(done) }()
	return done
}

func mustReturn(t *testing.T, done chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatalf("wait did not return %s", what)
	}
}

func mustBlock(t *testing.T, done chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
		t.Fatalf("wait returned %s", what)
	case <-time.After(20 * time.Millisecond):
	}
}

func TestAckGate(t *testing.T) {
	t.Run("open when nothing came", func(t *testing.T) {
		mustReturn(t, waited(t.Context(), newAckGate()), "with no envelope")
	})
	t.Run("holds work until the burst is acked", func(t *testing.T) {
		g := newAckGate()
		g.priority = time.Hour // longer than any stall of a busy machine
		g.received()
		g.received()
		done := waited(t.Context(), g)
		mustBlock(t, done, "with two envelopes pending")
		g.acked()
		mustBlock(t, done, "with one envelope pending")
		g.acked()
		mustReturn(t, done, "once the burst was acked")
	})
	t.Run("holds work at most burstPriority", func(t *testing.T) {
		g := newAckGate()
		g.received() // never acked
		start := time.Now()
		done := waited(t.Context(), g)
		mustReturn(t, done, "while an envelope stayed pending")
		if d := time.Since(start); d < g.priority/2 {
			t.Errorf("wait returned after %v, before the burst had its priority", d)
		}
		// The burst has had its turn: later work does not wait.
		mustReturn(t, waited(t.Context(), g), "after the burst's priority")
	})
	t.Run("stray acks do not close it", func(t *testing.T) {
		g := newAckGate()
		g.acked()
		mustReturn(t, waited(t.Context(), g), "after an ack without an envelope")
	})
	t.Run("ends with its context", func(t *testing.T) {
		g := newAckGate()
		g.priority = time.Hour
		g.received()
		ctx, cancel := context.WithCancel(t.Context())
		done := waited(ctx, g)
		cancel()
		mustReturn(t, done, "when its context ended")
	})
}
