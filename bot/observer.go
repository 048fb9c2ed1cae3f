package bot

import "time"

// Observer is told what the bot does, for metrics. cmd/okrbot implements it
// with Prometheus; the bot knows nothing of how it is counted.
type Observer interface {
	// Envelope is one acked Socket Mode envelope: its type (slash_commands,
	// interactive, events_api), how the ack went (ok, error) and how long it
	// took from reaching the bot to its ack.
	Envelope(kind, outcome string, ack time.Duration)
	// Redelivered is an envelope whose work was done already: acked, and
	// nothing more.
	Redelivered(kind string)
	// SlackCall is one Web API call: the method and the HTTP status, or
	// "error" when no answer came.
	SlackCall(method, status string, took time.Duration)
	// Checkin is a check-in reaching a state through the bot (answered, skipped).
	Checkin(state string)
}

// nopObserver counts nothing.
type nopObserver struct{}

func (nopObserver) Envelope(string, string, time.Duration)  {}
func (nopObserver) Redelivered(string)                      {}
func (nopObserver) SlackCall(string, string, time.Duration) {}
func (nopObserver) Checkin(string)                          {}
