// Package pgtest gives tests real, throwaway PostgreSQL databases.
//
// A test package that needs Postgres calls Main from its TestMain and URL
// (one database shared by the package, created on first use) or
// FreshDatabase (a new empty database per call) from its tests:
//
//	func TestMain(m *testing.M) { pgtest.Main(m) }
//
//	func TestSomething(t *testing.T) {
//		url := pgtest.URL(t)
//		...
//	}
//
// The server is found through TEST_DATABASE_URL (by default
// postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable), which must
// name a role allowed to create databases. When no server answers, the tests
// fail if CI is set; otherwise pgtest starts a temporary cluster with initdb
// and pg_ctl if it finds them, and else skips the tests, saying why.
// Every database and cluster it makes is removed when the package's tests end.
//
// pgtest imports nothing of okrbot's but internal/pgcluster, so that every
// package can use it.
package pgtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lib/pq"

	"github.com/okrbot/okrbot/internal/pgcluster"
)

// DefaultURL is the server tried when TEST_DATABASE_URL is not set.
const DefaultURL = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

var state struct {
	mu      sync.Mutex
	inMain  bool
	setup   bool   // the server was looked for
	skip    string // why tests skip, when no server could be had
	fail    string // why tests fail, when no server could be had under CI
	admin   *sql.DB
	server  *url.URL           // the server's URL, its database replaced per database
	cluster *pgcluster.Cluster // a cluster pgtest started, if any
	pkgDB   string             // the package's database, once made
	made    []string           // databases to drop at the end
}

// Main runs the package's tests, then drops every database pgtest made for
// them and stops any cluster it started. Call it from TestMain; it does not
// return.
func Main(m *testing.M) {
	state.mu.Lock()
	state.inMain = true
	state.mu.Unlock()
	code := m.Run()
	if err := teardown(); err != nil {
		fmt.Fprintf(os.Stderr, "pgtest: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// URL returns the URL of the package's own database, empty on first use and
// shared by all the package's tests from then on. It skips or fails tb when
// no server can be had.
func URL(tb testing.TB) string {
	tb.Helper()
	state.mu.Lock()
	defer state.mu.Unlock()
	ensureServer(tb)
	if state.pkgDB == "" {
		name, err := createDatabase()
		if err != nil {
			tb.Fatalf("pgtest: %v", err)
		}
		state.pkgDB = name
	}
	return databaseURL(state.pkgDB)
}

// FreshDatabase creates a new empty database for tb alone, returns its URL
// and drops it when tb's test ends. Use it for tests that need isolation,
// such as migrating from nothing.
func FreshDatabase(tb testing.TB) string {
	tb.Helper()
	state.mu.Lock()
	defer state.mu.Unlock()
	ensureServer(tb)
	name, err := createDatabase()
	if err != nil {
		tb.Fatalf("pgtest: %v", err)
	}
	tb.Cleanup(func() {
		state.mu.Lock()
		defer state.mu.Unlock()
		if err := dropDatabase(name); err != nil {
			tb.Errorf("pgtest: %v", err)
		}
	})
	return databaseURL(name)
}

// ensureServer finds the server on first use and skips or fails tb when
// there is none. It runs with state.mu held.
func ensureServer(tb testing.TB) {
	tb.Helper()
	if !state.inMain {
		tb.Fatal("pgtest: call pgtest.Main(m) from the package's TestMain, so that its databases are dropped")
	}
	if !state.setup {
		state.setup = true
		setup()
	}
	switch {
	case state.fail != "":
		tb.Fatalf("pgtest: %s", state.fail)
	case state.skip != "":
		tb.Skipf("pgtest: %s", state.skip)
	}
}

// setup connects to the server, or starts one, filling in state.
func setup() {
	raw := os.Getenv("TEST_DATABASE_URL")
	if raw == "" {
		raw = DefaultURL
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		state.fail = "TEST_DATABASE_URL must be a postgres:// URL"
		return
	}
	connErr := connect(u)
	if connErr == nil {
		return
	}
	why := fmt.Sprintf("no PostgreSQL at %s (%v)", u.Redacted(), redact(connErr, u))
	if os.Getenv("CI") != "" {
		state.fail = why + "; CI is set, so tests that need it fail"
		return
	}
	if ok, reason := pgcluster.Available(); !ok {
		state.skip = why + "; no temporary cluster either, as " + reason + "; or set TEST_DATABASE_URL"
		return
	}
	c, err := pgcluster.Start(context.Background())
	if err != nil {
		state.skip = why + "; " + err.Error()
		return
	}
	state.cluster = c
	cu, err := url.Parse(c.URL("postgres"))
	if err != nil {
		state.skip = why + "; the temporary cluster's URL: " + err.Error()
		return
	}
	if err := connect(cu); err != nil {
		state.skip = why + "; the temporary cluster does not answer: " + err.Error()
		return
	}
}

// connect opens and pings an admin connection to the server at u.
func connect(u *url.URL) error {
	db, err := sql.Open("postgres", u.String())
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(2)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return err
	}
	state.admin, state.server = db, u
	return nil
}

// redact removes u's password from err's text.
func redact(err error, u *url.URL) string {
	msg := err.Error()
	if pw, ok := u.User.Password(); ok && pw != "" {
		msg = strings.ReplaceAll(msg, pw, "xxxxx")
	}
	return msg
}

// createDatabase makes a uniquely named empty database and returns its name.
func createDatabase() (string, error) {
	name := databaseName(packageName(), randomSuffix())
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := state.admin.ExecContext(ctx, "CREATE DATABASE "+pq.QuoteIdentifier(name)); err != nil {
		return "", fmt.Errorf("create database %s: %w", name, err)
	}
	state.made = append(state.made, name)
	return name, nil
}

// dropDatabase drops a database pgtest made, closing its connections.
func dropDatabase(name string) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if _, err := state.admin.ExecContext(ctx, "DROP DATABASE IF EXISTS "+pq.QuoteIdentifier(name)+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("drop database %s: %w", name, err)
	}
	for i, n := range state.made {
		if n == name {
			state.made = append(state.made[:i], state.made[i+1:]...)
			break
		}
	}
	return nil
}

// teardown drops what is left and stops the cluster.
func teardown() error {
	state.mu.Lock()
	defer state.mu.Unlock()
	return teardownLocked()
}

// teardownLocked is teardown with state.mu held.
func teardownLocked() error {
	var errs []error
	if state.admin != nil {
		for _, name := range append([]string(nil), state.made...) {
			errs = append(errs, dropDatabase(name))
		}
		errs = append(errs, state.admin.Close())
		state.admin = nil
	}
	if state.cluster != nil {
		errs = append(errs, state.cluster.Stop())
		state.cluster = nil
	}
	state.pkgDB = ""
	return errors.Join(errs...)
}

// databaseURL returns the server's URL with the database replaced.
func databaseURL(name string) string {
	u := *state.server
	u.Path = "/" + name
	return u.String()
}

var notIdent = regexp.MustCompile(`[^a-z0-9_]+`)

// databaseName returns okrbot_test_<pkg>_<suffix>, within PostgreSQL's 63
// bytes.
func databaseName(pkg, suffix string) string {
	pkg = strings.Trim(notIdent.ReplaceAllString(strings.ToLower(pkg), "_"), "_")
	if pkg == "" {
		pkg = "pkg"
	}
	const prefix = "okrbot_test_"
	if max := 63 - len(prefix) - 1 - len(suffix); len(pkg) > max {
		pkg = pkg[:max]
	}
	return prefix + pkg + "_" + suffix
}

// packageName guesses the package under test from the test binary's name
// ("storage.test"), or else the directory go test runs it in.
func packageName() string {
	if name := strings.TrimSuffix(filepath.Base(os.Args[0]), ".test"); name != filepath.Base(os.Args[0]) {
		return name
	}
	if wd, err := os.Getwd(); err == nil {
		return filepath.Base(wd)
	}
	return "pkg"
}

func randomSuffix() string {
	b := make([]byte, 6)
	rand.Read(b)
	return hex.EncodeToString(b)
}
