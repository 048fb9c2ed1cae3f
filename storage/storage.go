// Package storage keeps okrbot's state in PostgreSQL: one Store, one file per
// entity, plain SQL through lib/pq and sqlx, and the schema as embedded goose
// migrations.
//
// It depends on the domain package okr only. It must not import bot,
// scheduler or anything of Slack's: they declare the interfaces they need
// and Store satisfies them.
package storage

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/lib/pq/pqerror"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"github.com/okrbot/okrbot/okr"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is okrbot's PostgreSQL store.
type Store struct {
	db *sqlx.DB

	// prepared holds the hot queries prepared on db, by query (see
	// prepareHot); database/sql prepares each again on every connection
	// that runs it, once.
	prepared sync.Map // string → *sqlx.Stmt

	// Now returns the current time. Tests replace it to fix the clock; it
	// stamps created_at, added_at and processed_at columns.
	Now func() time.Time
}

// Open connects to the database at databaseURL (a postgres:// URL or a
// key=value connection string) and checks that it answers. Errors never
// contain the URL or its password.
func Open(ctx context.Context, databaseURL string) (*Store, error) {
	cfg, err := pq.NewConfig(databaseURL)
	if err != nil {
		// The parser's message may quote the URL, password included.
		return nil, errors.New("storage: connect: the database URL is not valid")
	}
	// Send each query with its parameters in one round trip (Parse, Bind,
	// Execute at once) rather than two. Safe for every query here: none
	// passes a []byte (JSON goes as a string) nor has a bytea column, the
	// only values lib/pq encodes differently in this mode.
	cfg.BinaryParameters = true
	connector, err := pq.NewConnectorConfig(cfg)
	if err != nil {
		return nil, redact(fmt.Errorf("storage: connect: %w", err), cfg.Password, databaseURL)
	}
	db := sqlx.NewDb(sql.OpenDB(connector), "postgres")
	db.SetMaxOpenConns(20)
	db.SetMaxIdleConns(10)
	db.SetConnMaxIdleTime(5 * time.Minute)
	db.SetConnMaxLifetime(30 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, redact(fmt.Errorf("storage: connect: %w", err), cfg.Password, databaseURL)
	}
	return &Store{db: db, Now: time.Now}, nil
}

// Migrate brings the schema up to date with the embedded migrations, each in
// its own transaction. A session-level advisory lock makes concurrent calls
// from several processes safe: one migrates, the others wait and find
// nothing left to do.
func (s *Store) Migrate(ctx context.Context) error {
	fsys, err := fs.Sub(migrations, "migrations")
	if err != nil {
		return fmt.Errorf("storage: migrate: %w", err)
	}
	// Try the lock every second for up to five minutes.
	locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(1, 300))
	if err != nil {
		return fmt.Errorf("storage: migrate: %w", err)
	}
	// The provider is not closed: Provider.Close would close s.db.
	p, err := goose.NewProvider(goose.DialectPostgres, s.db.DB, fsys, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("storage: migrate: %w", err)
	}
	if _, err := p.Up(ctx); err != nil {
		return fmt.Errorf("storage: migrate: %w", err)
	}
	return nil
}

// Close closes the prepared statements and the connection pool.
func (s *Store) Close() error {
	s.prepared.Range(func(q, st any) bool {
		st.(*sqlx.Stmt).Close()
		s.prepared.Delete(q)
		return true
	})
	return s.db.Close()
}

// Ping reports whether the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.db.PingContext(ctx); err != nil {
		return fmt.Errorf("storage: ping: %w", err)
	}
	return nil
}

// DB returns the connection pool, for tests and benchmarks.
func (s *Store) DB() *sqlx.DB {
	return s.db
}

// now returns the store's clock reading, in UTC and rounded to the
// microsecond PostgreSQL keeps, so a value written reads back equal.
func (s *Store) now() time.Time {
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	return now().UTC().Round(time.Microsecond)
}

// withTx runs fn in a transaction, committing when fn returns nil and rolling
// back otherwise.
func (s *Store) withTx(ctx context.Context, fn func(tx *sqlx.Tx) error) error {
	tx, err := s.db.BeginTxx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit()
}

// checkMessages are user-safe words for the CHECK constraints people can
// trip; the rest get a generic message.
var checkMessages = map[string]struct{ field, message string }{
	"key_results_check":            {"target", "The target must differ from the start."},
	"key_results_title_check":      {"title", "A key result's title must be 1 to 150 characters."},
	"key_results_confidence_check": {"confidence", "Confidence is a whole number from 1 to 10."},
	"key_results_kind_check":       {"kind", "Pick metric or milestone."},
	"objectives_title_check":       {"title", "An objective's title must be 1 to 150 characters."},
	"objectives_kind_check":        {"kind", "Pick committed or aspirational."},
	"objectives_status_check":      {"status", "An objective is active or closed."},
	"teams_name_check":             {"name", "A team name must be 1 to 80 characters."},
	"team_members_role_check":      {"role", "A role is member or lead."},
	"periods_kind_check":           {"period", "A period is a quarter or a year."},
	"periods_check":                {"period", "A period must end after it starts."},
}

// mapError turns the errors the database reports into okr errors: no rows
// into ENOTFOUND with notFound as the message, a unique violation into
// ECONFLICT, a check violation into EINVALID, a foreign key violation into
// ENOTFOUND. Other errors are returned as they are.
func mapError(err error, notFound string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return okr.Errorf(okr.ENOTFOUND, "%s", notFound)
	}
	pqErr := pq.As(err)
	if pqErr == nil {
		return err
	}
	switch pqErr.Code {
	case pqerror.UniqueViolation:
		return okr.Errorf(okr.ECONFLICT, "That exists already.")
	case pqerror.CheckViolation, pqerror.NotNullViolation:
		if m, ok := checkMessages[pqErr.Constraint]; ok {
			return okr.FieldErrorf(m.field, "%s", m.message)
		}
		return okr.Errorf(okr.EINVALID, "That value is not allowed.")
	case pqerror.ForeignKeyViolation:
		return okr.Errorf(okr.ENOTFOUND, "What it refers to does not exist (any more).")
	}
	return err
}

// redact returns err with every occurrence of the secrets in its text
// replaced, keeping the chain for errors.Is and errors.As.
func redact(err error, secrets ...string) error {
	msg := err.Error()
	for _, s := range secrets {
		if s != "" {
			msg = strings.ReplaceAll(msg, s, "[redacted]")
		}
	}
	if msg == err.Error() {
		return err
	}
	return &redactedError{msg: msg, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }
