package scheduler_test

import (
	"context"
	"fmt"
	"maps"
	"sync"
	"time"

	"github.com/okrbot/okrbot/okr"
)

// fakeMessenger stands in for Slack: it records the DMs it is asked to send,
// and can be told to fail for some people.
type fakeMessenger struct {
	mu        sync.Mutex
	sent      map[int64]int // check-in id → DMs sent
	reminded  map[int64]int
	closed    map[int64]okr.CheckinState
	fail      map[string]error // user → error to return
	users     []okr.SlackUser
	delivered map[int64]string // check-in id → ts, as the DM history would show
	attempts  int              // SendCheckin calls, failed ones included
	lookups   int              // SlackUser calls
	// afterFind, when set, runs after FindCheckinDM read the DM history and
	// before it answers, as if the lookup were slow.
	afterFind func(okr.Checkin)
	alertFakes
	reportFakes
}

func (m *fakeMessenger) init() {
	if m.sent == nil {
		m.sent, m.reminded, m.closed = map[int64]int{}, map[int64]int{}, map[int64]okr.CheckinState{}
		m.delivered = map[int64]string{}
	}
}

func (m *fakeMessenger) SendCheckin(ctx context.Context, c okr.Checkin) (string, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	m.attempts++
	if err := m.fail[c.UserID]; err != nil {
		return "", "", err
	}
	m.sent[c.ID]++
	ts := fmt.Sprintf("%d.%06d", c.ID, m.sent[c.ID])
	m.delivered[c.ID] = ts
	return "D" + c.UserID, ts, nil
}

func (m *fakeMessenger) FindCheckinDM(ctx context.Context, c okr.Checkin) (string, string, bool, error) {
	m.mu.Lock()
	m.init()
	ts, ok := m.delivered[c.ID]
	after := m.afterFind
	m.mu.Unlock()
	if after != nil {
		after(c) // the history was read before: the answer may be stale now
	}
	return "D" + c.UserID, ts, ok, nil
}

func (m *fakeMessenger) RemindCheckin(ctx context.Context, c okr.Checkin) (string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	m.reminded[c.ID]++
	return "r", nil
}

func (m *fakeMessenger) CloseCheckinDM(ctx context.Context, c okr.Checkin) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	m.closed[c.ID] = c.State
	return nil
}

func (m *fakeMessenger) SlackUsers(ctx context.Context) ([]okr.SlackUser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.users, nil
}

func (m *fakeMessenger) SlackUser(ctx context.Context, id string) (okr.SlackUser, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.lookups++
	for _, u := range m.users {
		if u.ID == id {
			return u, nil
		}
	}
	return okr.SlackUser{ID: id}, nil
}

// setFail makes SendCheckin fail for a person with err, or succeed again
// when err is nil.
func (m *fakeMessenger) setFail(userID string, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.fail == nil {
		m.fail = map[string]error{}
	}
	if err == nil {
		delete(m.fail, userID)
		return
	}
	m.fail[userID] = err
}

// setDelivered makes the DM history show a check-in's DM as message ts,
// as if a sender had sent it and died before recording it.
func (m *fakeMessenger) setDelivered(id int64, ts string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	m.delivered[id] = ts
}

// addUsers lists people in the fake workspace.
func (m *fakeMessenger) addUsers(users ...okr.SlackUser) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.users = append(m.users, users...)
}

// activity is a copy of what a fakeMessenger did.
type activity struct {
	sent, reminded map[int64]int // check-in id → DMs, reminders
	closed         map[int64]okr.CheckinState
	attempts       int // SendCheckin calls, failed ones included
	lookups        int // SlackUser calls
}

// did returns a copy of what the messenger did so far.
func (m *fakeMessenger) did() activity {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.init()
	return activity{
		sent: maps.Clone(m.sent), reminded: maps.Clone(m.reminded), closed: maps.Clone(m.closed),
		attempts: m.attempts, lookups: m.lookups,
	}
}

// countingObserver counts the check-in states the scheduler reports.
type countingObserver struct {
	mu     sync.Mutex
	states map[string]int
}

func (o *countingObserver) JobRun(string, bool, time.Duration) {}
func (o *countingObserver) AlertPosted(string)                 {}
func (o *countingObserver) ReportPosted(string)                {}
func (o *countingObserver) Checkin(state string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.states == nil {
		o.states = map[string]int{}
	}
	o.states[state]++
}

func (o *countingObserver) count(state string) int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.states[state]
}
