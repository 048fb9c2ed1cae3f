package main

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/kelseyhightower/envconfig"
)

// Config is okrbot's configuration, read from the environment.
type Config struct {
	SlackBotToken        string `envconfig:"SLACK_BOT_TOKEN"`
	SlackAppToken        string `envconfig:"SLACK_APP_TOKEN"`
	DatabaseURL          string `envconfig:"DATABASE_URL"`
	SlackAPIURL          string `envconfig:"SLACK_API_URL"`
	HTTPAddr             string `envconfig:"HTTP_ADDR"`
	LogLevel             string `envconfig:"LOG_LEVEL"`
	DefaultTimezone      string `envconfig:"DEFAULT_TIMEZONE"`
	FiscalYearStartMonth string `envconfig:"FISCAL_YEAR_START_MONTH"`
	CheckinClaimLease    string `envconfig:"CHECKIN_CLAIM_LEASE"`
	SocketConnections    string `envconfig:"SOCKET_MODE_CONNECTIONS"`

	// Parsed forms, set by Validate.
	location *time.Location
	fyStart  time.Month
	logLevel slog.Level
	lease    time.Duration
	conns    int
}

// envDoc describes every variable, for -h.
var envDoc = [][2]string{
	{"SLACK_BOT_TOKEN", "bot token, xoxb-… (required for run)"},
	{"SLACK_APP_TOKEN", "app-level token with connections:write, xapp-… (required for run)"},
	{"DATABASE_URL", "PostgreSQL URL, e.g. postgres://okrbot@db:5432/okrbot?sslmode=disable (required for run and migrate)"},
	{"SLACK_API_URL", "base of every Web API call and apps.connections.open (default https://slack.com/api/)"},
	{"HTTP_ADDR", "address of /healthz, /readyz and /metrics (default :8080)"},
	{"LOG_LEVEL", "debug, info, warn or error (default info)"},
	{"DEFAULT_TIMEZONE", "IANA time zone for people Slack gives none, and for periods (default UTC)"},
	{"FISCAL_YEAR_START_MONTH", "month the fiscal year starts, 1–12 (default 1)"},
	{"SOCKET_MODE_CONNECTIONS", "Socket Mode connections this replica holds, 1–10 (default 2; Slack allows 10 per app in all)"},
	{"CHECKIN_CLAIM_LEASE", "how long a replica holds a check-in DM it is sending before another may recover it, 5s–1h (default 2m)"},
}

// LoadConfig reads the environment. It never fails on values: Validate does.
func LoadConfig() (Config, error) {
	var c Config
	if err := envconfig.Process("", &c); err != nil {
		return c, fmt.Errorf("reading the environment: %w", err)
	}
	c.setDefaults()
	return c, nil
}

// setDefaults fills what is unset or empty, as a 12-factor service should.
func (c *Config) setDefaults() {
	for _, d := range []struct {
		field *string
		value string
	}{
		{&c.SlackAPIURL, "https://slack.com/api/"},
		{&c.HTTPAddr, ":8080"},
		{&c.LogLevel, "info"},
		{&c.DefaultTimezone, "UTC"},
		{&c.FiscalYearStartMonth, "1"},
		{&c.CheckinClaimLease, "2m"},
		{&c.SocketConnections, "2"},
	} {
		if strings.TrimSpace(*d.field) == "" {
			*d.field = d.value
		}
	}
}

// need says which parts of the configuration a command needs.
type need int

const (
	needDatabase need = 1 << iota
	needSlack
)

// Validate checks the values a command needs and parses them. Its error is
// one line that names the variable and what is expected, and never repeats a
// secret.
func (c *Config) Validate(n need) error {
	c.setDefaults()
	if n&needSlack != 0 {
		switch {
		case c.SlackBotToken == "":
			return fmt.Errorf("SLACK_BOT_TOKEN is not set: set it to the app's bot token (xoxb-…)")
		case !strings.HasPrefix(c.SlackBotToken, "xoxb-"):
			return fmt.Errorf("SLACK_BOT_TOKEN must start with xoxb- (the bot token, not the app or user token)")
		case c.SlackAppToken == "":
			return fmt.Errorf("SLACK_APP_TOKEN is not set: set it to an app-level token with connections:write (xapp-…)")
		case !strings.HasPrefix(c.SlackAppToken, "xapp-"):
			return fmt.Errorf("SLACK_APP_TOKEN must start with xapp- (an app-level token with connections:write)")
		}
		u, err := url.Parse(c.SlackAPIURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return fmt.Errorf("SLACK_API_URL must be an http(s) URL such as https://slack.com/api/")
		}
		if !strings.HasSuffix(c.SlackAPIURL, "/") {
			c.SlackAPIURL += "/"
		}
	}
	if n&needDatabase != 0 {
		if c.DatabaseURL == "" {
			return fmt.Errorf("DATABASE_URL is not set: set it to a PostgreSQL URL such as postgres://okrbot@localhost:5432/okrbot?sslmode=disable")
		}
		if u, err := url.Parse(c.DatabaseURL); err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
			return fmt.Errorf("DATABASE_URL must be a postgres:// URL such as postgres://okrbot@localhost:5432/okrbot?sslmode=disable")
		}
	}
	if _, port, err := net.SplitHostPort(c.HTTPAddr); err != nil || port == "" {
		return fmt.Errorf("HTTP_ADDR must be host:port or :port, e.g. :8080, not %q", c.HTTPAddr)
	}
	if err := c.logLevel.UnmarshalText([]byte(c.LogLevel)); err != nil {
		return fmt.Errorf("LOG_LEVEL must be debug, info, warn or error, not %q", c.LogLevel)
	}
	loc, err := time.LoadLocation(c.DefaultTimezone)
	if err != nil || c.DefaultTimezone == "" || c.DefaultTimezone == "Local" {
		return fmt.Errorf("DEFAULT_TIMEZONE must be an IANA time zone such as Europe/Berlin or UTC, not %q", c.DefaultTimezone)
	}
	c.location = loc
	m, err := strconv.Atoi(strings.TrimSpace(c.FiscalYearStartMonth))
	if err != nil || m < 1 || m > 12 {
		return fmt.Errorf("FISCAL_YEAR_START_MONTH must be a month number from 1 to 12, not %q", c.FiscalYearStartMonth)
	}
	c.fyStart = time.Month(m)
	lease, err := time.ParseDuration(strings.TrimSpace(c.CheckinClaimLease))
	if err != nil || lease < 5*time.Second || lease > time.Hour {
		return fmt.Errorf("CHECKIN_CLAIM_LEASE must be a duration from 5s to 1h, such as 2m, not %q", c.CheckinClaimLease)
	}
	c.lease = lease
	conns, err := strconv.Atoi(strings.TrimSpace(c.SocketConnections))
	if err != nil || conns < 1 || conns > 10 {
		return fmt.Errorf("SOCKET_MODE_CONNECTIONS must be a whole number from 1 to 10, not %q", c.SocketConnections)
	}
	c.conns = conns
	return nil
}
