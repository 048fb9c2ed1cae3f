package storage_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/okrbot/okrbot/bot"
	"github.com/okrbot/okrbot/internal/pgtest"
	"github.com/okrbot/okrbot/okr"
	"github.com/okrbot/okrbot/storage"
)

// The bot's interface is satisfied; storage itself must not import bot.
var _ bot.Store = (*storage.Store)(nil)

func TestMain(m *testing.M) { pgtest.Main(m) }

// now is the fixed clock of stores opened by MustOpenStore.
var now = time.Date(2027, 4, 12, 9, 30, 0, 0, time.UTC)

// MustOpenStore returns a migrated store on the package's database with its
// clock fixed at now, closed when tb ends. Tests share the database, so they
// use names from unique.
func MustOpenStore(tb testing.TB) *storage.Store {
	tb.Helper()
	return mustOpenMigrated(tb, pgtest.URL(tb))
}

func mustOpenMigrated(tb testing.TB, url string) *storage.Store {
	tb.Helper()
	ctx := context.Background()
	s, err := storage.Open(ctx, url)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	if err := s.Migrate(ctx); err != nil {
		tb.Fatal(err)
	}
	s.Now = func() time.Time { return now }
	return s
}

// unique returns prefix followed by random letters, so that tests sharing a
// database do not meet.
func unique(prefix string) string {
	b := make([]byte, 5)
	rand.Read(b)
	return prefix + strings.ToUpper(hex.EncodeToString(b))
}

// mustCreateTeam creates a team with a unique name and channel, created by lead.
func mustCreateTeam(tb testing.TB, s *storage.Store, lead string) *okr.Team {
	tb.Helper()
	t := &okr.Team{Name: unique("Team "), ChannelID: unique("C"), CreatedBy: lead}
	if err := s.CreateTeam(context.Background(), t); err != nil {
		tb.Fatal(err)
	}
	return t
}

// wantCode fails tb unless err carries the okr code want.
func wantCode(tb testing.TB, err error, want string) {
	tb.Helper()
	if got := okr.ErrorCode(err); got != want {
		tb.Fatalf("error code: got %q (%v), want %q", got, err, want)
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	const password = "sup3r-s3cret-pw"
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // a port nothing listens on

	for name, url := range map[string]string{
		"url":        fmt.Sprintf("postgres://okrbot:%s@127.0.0.1:%d/okrbot?sslmode=disable", password, port),
		"bad url":    fmt.Sprintf("postgres://okrbot:%s@127.0.0.1:port/okrbot?sslmode=disable", password),
		"bad escape": fmt.Sprintf("postgres://okrbot:%s%%zz@127.0.0.1:%d/okrbot", password, port),
		"key=value":  fmt.Sprintf("host=127.0.0.1 port=%d user=okrbot password=%s sslmode=disable", port, password),
	} {
		t.Run(name, func(t *testing.T) {
			s, err := storage.Open(ctx, url)
			if err == nil {
				s.Close()
				t.Fatal("error: got nil, want one")
			}
			if strings.Contains(err.Error(), password) {
				t.Errorf("error: got %q, which holds the password", err)
			}
			if !strings.HasPrefix(err.Error(), "storage: connect: ") {
				t.Errorf("error: got %q, want it to start with storage: connect:", err)
			}
		})
	}

	t.Run("working URL", func(t *testing.T) {
		s, err := storage.Open(ctx, pgtest.URL(t))
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		if err := s.Ping(ctx); err != nil {
			t.Errorf("ping: %v", err)
		}
	})
}

func TestMigrate(t *testing.T) {
	ctx := context.Background()
	t.Run("idempotent", func(t *testing.T) {
		s := mustOpenMigrated(t, pgtest.FreshDatabase(t))
		if err := s.Migrate(ctx); err != nil {
			t.Fatalf("second migrate: %v", err)
		}
		var n int
		if err := s.DB().GetContext(ctx, &n, `SELECT count(*) FROM goose_db_version WHERE version_id = 1`); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("rows for version 1: got %d, want 1", n)
		}
	})
	t.Run("concurrent", func(t *testing.T) {
		url := pgtest.FreshDatabase(t)
		stores := make([]*storage.Store, 2)
		for i := range stores {
			s, err := storage.Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			stores[i] = s
		}
		errs := make([]error, len(stores))
		var wg sync.WaitGroup
		for i, s := range stores {
			wg.Go(func() { errs[i] = s.Migrate(ctx) })
		}
		wg.Wait()
		for i, err := range errs {
			if err != nil {
				t.Errorf("migrate %d: %v", i, err)
			}
		}
		var n int
		if err := stores[0].DB().GetContext(ctx, &n, `SELECT count(*) FROM goose_db_version WHERE version_id = 1`); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Errorf("rows for version 1: got %d, want 1", n)
		}
	})
}
