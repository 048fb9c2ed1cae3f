package pgcluster_test

import (
	"context"
	"database/sql"
	"errors"
	"net/url"
	"os"
	"slices"
	"testing"
	"time"

	_ "github.com/lib/pq"

	"github.com/okrbot/okrbot/internal/pgcluster"
)

// TestStart starts a cluster, uses it and stops it.
func TestStart(t *testing.T) {
	if ok, reason := pgcluster.Available(); !ok {
		t.Skip(reason)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := pgcluster.Start(ctx)
	if err != nil {
		t.Fatalf("start: %v", err)
	}
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			c.Stop()
		}
	})
	dir := pgcluster.Dir(c)

	raw := c.URL("postgres")
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("parse URL %q: %v", raw, err)
	}
	if u.Scheme != "postgres" || u.User.Username() != "postgres" || u.Hostname() != "127.0.0.1" || u.Port() == "" || u.Path != "/postgres" || u.RawQuery != "sslmode=disable" {
		t.Errorf("URL: got %q, want postgres://postgres@127.0.0.1:PORT/postgres?sslmode=disable", raw)
	}

	db, err := sql.Open("postgres", raw)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(ctx, `CREATE DATABASE okrbot_pgcluster`); err != nil {
		t.Fatalf("create database: %v", err)
	}
	other, err := sql.Open("postgres", c.URL("okrbot_pgcluster"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	var current string
	if err := other.QueryRowContext(ctx, `SELECT current_database()`).Scan(&current); err != nil {
		t.Fatalf("query the new database: %v", err)
	}
	if current != "okrbot_pgcluster" {
		t.Errorf("current_database(): got %q, want okrbot_pgcluster", current)
	}

	stopped = true
	if err := c.Stop(); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("temporary directory %s after Stop: got %v, want it gone", dir, err)
	}
	pctx, pcancel := context.WithTimeout(ctx, 5*time.Second)
	defer pcancel()
	if err := db.PingContext(pctx); err == nil {
		t.Errorf("ping after Stop: got an answer, want none")
	}
}

// TestAvailable checks that a negative answer says why.
func TestAvailable(t *testing.T) {
	ok, reason := pgcluster.Available()
	if !ok && reason == "" {
		t.Errorf("Available: got false without a reason")
	}
	if ok && reason != "" {
		t.Errorf("Available: got true with reason %q, want none", reason)
	}
	if os.Geteuid() == 0 && ok {
		t.Errorf("Available as root: got true, want false (initdb refuses root)")
	}
}

func TestNewestFirst(t *testing.T) {
	got := pgcluster.NewestFirst([]string{
		"/usr/lib/postgresql/10/bin",
		"/usr/lib/postgresql/15/bin",
		"/usr/lib/postgresql/9.6/bin",
	})
	want := []string{
		"/usr/lib/postgresql/15/bin",
		"/usr/lib/postgresql/10/bin",
		"/usr/lib/postgresql/9.6/bin",
	}
	if !slices.Equal(got, want) {
		t.Errorf("got %q, want %q", got, want)
	}
}
