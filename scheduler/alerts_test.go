package scheduler_test

import (
	"context"
	"fmt"

	"github.com/okrbot/okrbot/okr"
)

// The fake Slack's side of alerts: posts are recorded by event id, and a
// team's channel can be made to refuse them.

// PostAlert records the post of an event.
func (m *fakeMessenger) PostAlert(ctx context.Context, ev okr.AlertEvent) (string, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.initAlerts()
	if reason, ok := m.unpostable[ev.TeamID]; ok {
		return "", "", &okr.Error{Code: okr.EUNDELIVERABLE, Message: reason}
	}
	m.posted[ev.ID]++
	ts := fmt.Sprintf("%d.%06d", ev.ID, m.posted[ev.ID])
	m.alertHistory[ev.ID] = ts
	return fmt.Sprintf("C%d", ev.TeamID), ts, nil
}

// FindAlertPost looks an event's post up in the fake channel history.
func (m *fakeMessenger) FindAlertPost(ctx context.Context, ev okr.AlertEvent) (string, string, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.initAlerts()
	ts, ok := m.alertHistory[ev.ID]
	return fmt.Sprintf("C%d", ev.TeamID), ts, ok, nil
}

// ReportUnpostable records that the leads were told.
func (m *fakeMessenger) ReportUnpostable(ctx context.Context, ev okr.AlertEvent, reason string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.initAlerts()
	m.reported[ev.ID] = reason
	return nil
}

func (m *fakeMessenger) initAlerts() {
	if m.posted == nil {
		m.posted, m.alertHistory, m.reported = map[int64]int{}, map[int64]string{}, map[int64]string{}
	}
	if m.unpostable == nil {
		m.unpostable = map[int64]string{}
	}
}

// alertFakes is the fake Slack's alert state, embedded in fakeMessenger.
type alertFakes struct {
	posted       map[int64]int    // alert event id → posts
	alertHistory map[int64]string // alert event id → ts, as the channel history shows
	reported     map[int64]string // alert event id → reason told to the leads
	unpostable   map[int64]string // team id → reason its channel refuses posts
}
