// Package pgcluster starts throwaway PostgreSQL clusters: initdb in a new
// temporary directory, pg_ctl to run the server on a free port of 127.0.0.1
// with trust authentication, and everything removed again on Stop.
//
// Tests use it through pgtest and `okrbot demo` uses it in the production
// binary, so pgcluster must not import "testing", nor anything of okrbot's.
package pgcluster

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// superuser is the role initdb makes; trust authentication lets it in
// without a password.
const superuser = "postgres"

// Cluster is a running temporary PostgreSQL cluster. Stop it when done.
type Cluster struct {
	dir   string // the temporary directory: data/, log and the unix socket
	pgCtl string
	port  int
}

// Available reports whether initdb and pg_ctl were found (on PATH or in
// /usr/lib/postgresql/*/bin) and the process may run them (initdb refuses
// to run as root), with the reason when not.
func Available() (ok bool, reason string) {
	_, _, err := tools()
	if err != nil {
		return false, err.Error()
	}
	return true, ""
}

// Start initialises a cluster in a new temporary directory, starts it on a
// free port of 127.0.0.1 with its unix socket in that directory and trust
// authentication, and returns it. Cancelling ctx stops Start, not the
// cluster it returned.
func Start(ctx context.Context) (*Cluster, error) {
	initdb, pgCtl, err := tools()
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	dir, err := os.MkdirTemp("", "pgcluster-")
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	c := &Cluster{dir: dir, pgCtl: pgCtl}
	if err := c.start(ctx, initdb); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("pgcluster: %w", err)
	}
	return c, nil
}

// start runs initdb and pg_ctl start in c.dir.
func (c *Cluster) start(ctx context.Context, initdb string) error {
	cmd := exec.CommandContext(ctx, initdb, "-D", c.data(), "-U", superuser, "-A", "trust", "--no-sync", "-E", "UTF8")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("initdb: %w: %s", err, lastLines(out))
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	c.port = port
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off -c full_page_writes=off", port, c.dir)
	cmd = exec.CommandContext(ctx, c.pgCtl, "-D", c.data(), "-l", c.log(), "-o", opts, "-w", "-t", "60", "start")
	// The server outlives pg_ctl; in its own process group it is spared
	// the terminal's Ctrl-C, which is left to the program to handle by
	// calling Stop.
	cmd.SysProcAttr = detached()
	if out, err := cmd.CombinedOutput(); err != nil {
		logTail, _ := os.ReadFile(c.log())
		// pg_ctl may have failed (or been killed) after the server started.
		c.pgStop()
		return fmt.Errorf("pg_ctl start: %w: %s %s", err, lastLines(out), lastLines(logTail))
	}
	return nil
}

// URL returns the URL of database on the cluster, as the superuser:
// postgres://postgres@127.0.0.1:PORT/DATABASE?sslmode=disable.
func (c *Cluster) URL(database string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(superuser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(c.port)),
		Path:     "/" + database,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Stop stops the server, not waiting for clients to disconnect, and
// removes the temporary directory.
func (c *Cluster) Stop() error {
	err := c.pgStop()
	if rmErr := os.RemoveAll(c.dir); rmErr != nil {
		err = errors.Join(err, fmt.Errorf("pgcluster: %w", rmErr))
	}
	return err
}

// pgStop runs pg_ctl stop in immediate mode. A server that is not running
// (pg_ctl status exits 3) counts as stopped.
func (c *Cluster) pgStop() error {
	out, err := exec.Command(c.pgCtl, "-D", c.data(), "-m", "immediate", "-w", "stop").CombinedOutput()
	if err == nil {
		return nil
	}
	var exit *exec.ExitError
	if status := exec.Command(c.pgCtl, "-D", c.data(), "status").Run(); errors.As(status, &exit) && exit.ExitCode() == 3 {
		return nil
	}
	return fmt.Errorf("pgcluster: pg_ctl stop: %w: %s", err, lastLines(out))
}

func (c *Cluster) data() string { return filepath.Join(c.dir, "data") }
func (c *Cluster) log() string  { return filepath.Join(c.dir, "log") }

// tools returns the paths of initdb and pg_ctl, or why they cannot be run.
func tools() (initdb, pgCtl string, err error) {
	initdb, pgCtl = findTools()
	if initdb == "" {
		return "", "", errors.New("initdb and pg_ctl are not on PATH or in /usr/lib/postgresql/*/bin")
	}
	if os.Geteuid() == 0 {
		return "", "", errors.New("initdb refuses to run as root; run as another user")
	}
	return initdb, pgCtl, nil
}

// findTools looks for initdb and pg_ctl on PATH, then in the newest
// /usr/lib/postgresql/*/bin holding both. It returns empty strings when it
// finds no pair.
func findTools() (initdb, pgCtl string) {
	i, errI := exec.LookPath("initdb")
	p, errP := exec.LookPath("pg_ctl")
	if errI == nil && errP == nil {
		return i, p
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	for _, dir := range newestFirst(dirs) {
		i, p := filepath.Join(dir, "initdb"), filepath.Join(dir, "pg_ctl")
		if isFile(i) && isFile(p) {
			return i, p
		}
	}
	return "", ""
}

// newestFirst sorts /usr/lib/postgresql/VERSION/bin directories by their
// major version, newest first, so that 16 comes before 9.6.
func newestFirst(dirs []string) []string {
	major := func(dir string) int {
		v := filepath.Base(filepath.Dir(dir))
		n, _ := strconv.Atoi(strings.SplitN(v, ".", 2)[0])
		return n
	}
	dirs = slices.Clone(dirs)
	slices.SortStableFunc(dirs, func(a, b string) int { return major(b) - major(a) })
	return dirs
}

func isFile(path string) bool {
	fi, err := os.Stat(path)
	return err == nil && !fi.IsDir()
}

// freePort returns a TCP port of 127.0.0.1 that was free a moment ago.
func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// lastLines returns the last five lines of a program's output on one line.
func lastLines(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > 5 {
		lines = lines[len(lines)-5:]
	}
	return strings.Join(lines, " | ")
}
