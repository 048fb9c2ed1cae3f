package pgtest_test

import (
	"context"
	"database/sql"
	"net/url"
	"strings"
	"testing"

	_ "github.com/lib/pq"

	"github.com/okrbot/okrbot/internal/pgtest"
)

func TestMain(m *testing.M) { pgtest.Main(m) }

func TestURL(t *testing.T) {
	first := pgtest.URL(t)
	if second := pgtest.URL(t); second != first {
		t.Errorf("second URL: got %q, want the first, %q", second, first)
	}
	if name := databaseOf(t, first); !strings.HasPrefix(name, "okrbot_test_pgtest_") {
		t.Errorf("database name: got %q, want okrbot_test_pgtest_…", name)
	}
	db := mustOpen(t, first)
	var current string
	if err := db.QueryRow(`SELECT current_database()`).Scan(&current); err != nil {
		t.Fatal(err)
	}
	if want := databaseOf(t, first); current != want {
		t.Errorf("current_database(): got %q, want %q", current, want)
	}
}

func TestFreshDatabase(t *testing.T) {
	shared := pgtest.URL(t)
	var fresh string
	t.Run("inner", func(t *testing.T) {
		fresh = pgtest.FreshDatabase(t)
		if fresh == shared {
			t.Fatalf("fresh database: got the package's, %q", fresh)
		}
		if other := pgtest.FreshDatabase(t); other == fresh {
			t.Errorf("second fresh database: got the first again, %q", other)
		}
		db := mustOpen(t, fresh)
		var n int
		if err := db.QueryRow(`SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n != 0 {
			t.Errorf("tables in a fresh database: got %d, want 0", n)
		}
		// An open connection must not keep the database from being dropped.
		if _, err := db.Exec(`CREATE TABLE t (id int)`); err != nil {
			t.Fatal(err)
		}
	})
	var exists bool
	err := mustOpen(t, shared).QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)`, databaseOf(t, fresh)).Scan(&exists)
	if err != nil {
		t.Fatal(err)
	}
	if exists {
		t.Errorf("fresh database after its test: got it still there, want it dropped")
	}
}

func mustOpen(tb testing.TB, dsn string) *sql.DB {
	tb.Helper()
	db, err := sql.Open("postgres", dsn)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	if err := db.PingContext(context.Background()); err != nil {
		tb.Fatal(err)
	}
	return db
}

func databaseOf(tb testing.TB, dsn string) string {
	tb.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		tb.Fatal(err)
	}
	return strings.TrimPrefix(u.Path, "/")
}
