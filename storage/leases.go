package storage

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// TryLead takes or renews the lease called name for holder for ttl, and
// reports whether holder has it: it does when nobody held it, when holder
// already did, or when the last holder's lease expired.
func (s *Store) TryLead(ctx context.Context, name, holder string, ttl time.Duration) (bool, error) {
	var got string
	err := s.db.QueryRowxContext(ctx, `
		INSERT INTO scheduler_leases (name, holder, expires_at)
		VALUES ($1, $2, now() + make_interval(secs => $3))
		ON CONFLICT (name) DO UPDATE
		SET holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at
		WHERE scheduler_leases.holder = EXCLUDED.holder OR scheduler_leases.expires_at < now()
		RETURNING holder`,
		name, holder, ttl.Seconds(),
	).Scan(&got)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("storage: lease %s: %w", name, err)
	}
	return got == holder, nil
}

// ReleaseLead gives up holder's lease called name, so another replica can
// take over at once (a clean shutdown).
func (s *Store) ReleaseLead(ctx context.Context, name, holder string) error {
	_, err := s.db.ExecContext(ctx, `
		DELETE FROM scheduler_leases
		WHERE name = $1 AND holder = $2`, name, holder)
	if err != nil {
		return fmt.Errorf("storage: release lease %s: %w", name, err)
	}
	return nil
}
