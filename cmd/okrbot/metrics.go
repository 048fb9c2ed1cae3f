package main

import (
	"database/sql"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// metrics counts what okrbot does, for /metrics. It implements bot.Observer
// and scheduler.Observer.
type metrics struct {
	registry    *prometheus.Registry
	envelopes   *prometheus.CounterVec
	redelivered *prometheus.CounterVec
	ackLatency  *prometheus.HistogramVec
	slackCalls  *prometheus.CounterVec
	slackTime   *prometheus.HistogramVec
	checkins    *prometheus.CounterVec
	alerts      *prometheus.CounterVec
	reports     *prometheus.CounterVec
	jobRuns     *prometheus.CounterVec
	jobDuration *prometheus.HistogramVec
}

func newMetrics() *metrics {
	m := &metrics{
		registry: prometheus.NewRegistry(),
		envelopes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "okrbot_envelopes_total", Help: "Socket Mode envelopes by type and outcome.",
		}, []string{"type", "outcome"}),
		redelivered: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "okrbot_envelopes_redelivered_total", Help: "Envelopes whose work was done already (Slack's retries): acked, nothing more.",
		}, []string{"type"}),
		ackLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "okrbot_ack_latency_seconds", Help: "Time from an envelope reaching the bot to its ack.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5},
		}, []string{"type"}),
		slackCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "okrbot_slack_api_calls_total", Help: "Slack Web API calls by method and HTTP status (429 is a rate limit).",
		}, []string{"method", "status"}),
		slackTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "okrbot_slack_api_call_seconds", Help: "Slack Web API call time, including waits for the rate limiter.",
			Buckets: prometheus.ExponentialBuckets(0.005, 2.5, 10),
		}, []string{"method"}),
		checkins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "okrbot_checkins_total", Help: "Check-ins reaching a state: sent, answered, skipped, missed, away, undeliverable.",
		}, []string{"state"}),
		reports: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "okrbot_reports_posted_total", Help: "Weekly digests and quarterly summaries posted in team channels, by kind.",
		}, []string{"kind"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "okrbot_alerts_posted_total", Help: "Alert messages posted in team channels, by rule.",
		}, []string{"rule"}),
		jobRuns: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "okrbot_job_runs_total", Help: "Scheduled job runs by job and outcome.",
		}, []string{"job", "outcome"}),
		jobDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "okrbot_job_duration_seconds", Help: "Scheduled job run time.",
			Buckets: prometheus.ExponentialBuckets(0.01, 4, 10),
		}, []string{"job"}),
	}
	m.registry.MustRegister(m.envelopes, m.redelivered, m.ackLatency, m.slackCalls, m.slackTime, m.checkins, m.alerts, m.reports, m.jobRuns, m.jobDuration,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// watchDB adds the database pool's statistics.
func (m *metrics) watchDB(db *sql.DB) {
	m.registry.MustRegister(collectors.NewDBStatsCollector(db, "okrbot"))
}

func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.registry, promhttp.HandlerOpts{})
}

// Envelope implements bot.Observer.
func (m *metrics) Envelope(kind, outcome string, ack time.Duration) {
	m.envelopes.WithLabelValues(kind, outcome).Inc()
	m.ackLatency.WithLabelValues(kind).Observe(ack.Seconds())
}

// Redelivered implements bot.Observer.
func (m *metrics) Redelivered(kind string) { m.redelivered.WithLabelValues(kind).Inc() }

// SlackCall implements bot.Observer.
func (m *metrics) SlackCall(method, status string, took time.Duration) {
	m.slackCalls.WithLabelValues(method, status).Inc()
	m.slackTime.WithLabelValues(method).Observe(took.Seconds())
}

// Checkin implements bot.Observer and scheduler.Observer.
func (m *metrics) Checkin(state string) { m.checkins.WithLabelValues(state).Inc() }

// AlertPosted implements scheduler.Observer.
func (m *metrics) AlertPosted(rule string) { m.alerts.WithLabelValues(rule).Inc() }

// ReportPosted implements scheduler.Observer.
func (m *metrics) ReportPosted(kind string) { m.reports.WithLabelValues(kind).Inc() }

// JobRun implements scheduler.Observer.
func (m *metrics) JobRun(job string, failed bool, took time.Duration) {
	outcome := "ok"
	if failed {
		outcome = "failed"
	}
	m.jobRuns.WithLabelValues(job, outcome).Inc()
	m.jobDuration.WithLabelValues(job).Observe(took.Seconds())
}
