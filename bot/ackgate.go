package bot

import (
	"context"
	"sync"
	"time"
)

const (
	// burstPriority is how long, at most, work after acks yields to the
	// acks of a burst of envelopes.
	burstPriority = 100 * time.Millisecond
	// burstQuiet is the pause after the last envelope that ends a burst.
	burstQuiet = 5 * time.Millisecond
)

// ackGate gives acks priority over the work done after them. A burst of
// envelopes (say a hundred people clicking at once) arrives on the sockets
// faster than the bot reads them; while it lasts, work that waits at the
// gate (opening modals, replies, confirmations) does not start, so the CPU
// goes to reading, checking and acking the burst. A burst lasts while an
// envelope is waiting for its ack or came in the last burstQuiet. The
// priority is bounded: nothing waits more than burstPriority after the
// burst began, so under steady load, when envelopes never stop coming,
// the gate stays open and nothing starves.
type ackGate struct {
	priority time.Duration // burstPriority; tests change it
	mu       sync.Mutex
	pending  int       // envelopes received and not acked yet
	began    time.Time // when the current burst began
	last     time.Time // when the last envelope came
	whenIdle chan struct{}
}

func newAckGate() *ackGate {
	g := &ackGate{priority: burstPriority, whenIdle: make(chan struct{})}
	close(g.whenIdle)
	return g
}

// received marks an envelope pending.
func (g *ackGate) received() {
	now := time.Now()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.pending == 0 {
		if now.Sub(g.last) >= burstQuiet {
			g.began = now
		}
		g.whenIdle = make(chan struct{})
	}
	g.pending++
	g.last = now
}

// acked marks a pending envelope acked.
func (g *ackGate) acked() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.pending == 0 {
		return
	}
	g.pending--
	if g.pending == 0 {
		close(g.whenIdle)
	}
}

// wait returns once no burst is going on, the burst has had its
// priority, or ctx ends.
func (g *ackGate) wait(ctx context.Context) {
	for {
		g.mu.Lock()
		now := time.Now()
		until := g.began.Add(g.priority)
		idle := g.whenIdle
		if g.pending == 0 {
			until = minTime(until, g.last.Add(burstQuiet))
			idle = nil // already idle: wait for the quiet
		}
		g.mu.Unlock()
		if !now.Before(until) {
			return
		}
		t := time.NewTimer(until.Sub(now))
		select {
		case <-idle:
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return
		}
		t.Stop()
	}
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
