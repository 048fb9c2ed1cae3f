package scheduler_test

import (
	"context"
	"fmt"
	"sync"

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
	defer m.mu.Unlock()
	m.init()
	ts, ok := m.delivered[c.ID]
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
	for _, u := range m.users {
		if u.ID == id {
			return u, nil
		}
	}
	return okr.SlackUser{ID: id}, nil
}
