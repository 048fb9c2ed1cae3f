package scheduler

import "time"

// Observer is told what the scheduler does, for metrics. cmd/okrbot
// implements it with Prometheus.
type Observer interface {
	// JobRun is one run of a job: its name, whether it failed, how long it took.
	JobRun(job string, failed bool, took time.Duration)
	// Checkin is a check-in reaching a state through the scheduler (sent,
	// away, undeliverable, missed).
	Checkin(state string)
	// AlertPosted is one alert event posted in a channel.
	AlertPosted(rule string)
	// ReportPosted is one digest or summary posted in a channel.
	ReportPosted(kind string)
}

type nopObserver struct{}

func (nopObserver) JobRun(string, bool, time.Duration) {}
func (nopObserver) Checkin(string)                     {}
func (nopObserver) AlertPosted(string)                 {}
func (nopObserver) ReportPosted(string)                {}
