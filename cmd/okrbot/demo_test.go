package main

import (
	"bytes"
	"context"
	"database/sql"
	"image/png"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/okrbot/okrbot/internal/pgtest"
)

// TestDemo plays the README's demo on a database of its own and checks
// that the story is told to its end: a team, an objective and its key
// results created and listed, an alert and its recovery, a week of
// check-ins, a digest, and a summary whose chart is written to the file
// named.
func TestDemo(t *testing.T) {
	t.Parallel()
	dbURL := pgtest.FreshDatabase(t)
	u, err := url.Parse(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	// The demo resets a database of its own on the server: one named after
	// this test's, dropped at the end.
	name := strings.TrimPrefix(u.Path, "/") + "_demo"
	u.Path = "/postgres"
	server := u.String()
	t.Cleanup(func() {
		db, err := sql.Open("postgres", server)
		if err != nil {
			return
		}
		defer db.Close()
		_, _ = db.Exec(`DROP DATABASE IF EXISTS ` + name + ` WITH (FORCE)`)
	})
	old := chartFile
	chartFile = filepath.Join(t.TempDir(), "chart.png")
	t.Cleanup(func() { chartFile = old })

	var out, errs bytes.Buffer
	cfg := Config{DatabaseURL: server, LogLevel: "warn", DefaultTimezone: "UTC", FiscalYearStartMonth: "1"}
	if err := cfg.Validate(0); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := demo(ctx, cfg, name, &out, &errs); err != nil {
		t.Fatalf("demo: %v\n%s\n%s", err, out.String(), errs.String())
	}
	got := out.String()
	mustContain(t, got,
		"created the team *Platform*",
		"Make support fast and friendly",
		"is now critical", "healthy again",
		"*Weekly check-in · Platform*",
		"*Weekly digest · Platform · 2027-Q1*", "✅ 1 of 3 checked in: @alice",
		"*Quarterly summary · Platform · 2027-Q1*", "score *0.3* · committed · *not met*",
		"[image: Key result progress by week against the expected pace]",
		"The summary's chart", chartFile,
	)
	if errs.Len() > 0 {
		t.Errorf("the demo complained:\n%s", errs.String())
	}
	b, err := os.ReadFile(chartFile)
	if err != nil {
		t.Fatalf("the chart file: %v", err)
	}
	if _, err := png.Decode(bytes.NewReader(b)); err != nil {
		t.Errorf("the chart file is no PNG: %v", err)
	}
}
