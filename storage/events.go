package storage

import (
	"context"
	"fmt"
	"time"
)

// ClaimEvent records key (a Socket Mode envelope or event id) as processed
// and reports true the first time it is claimed, false for every later claim,
// from this process or another.
func (s *Store) ClaimEvent(ctx context.Context, key string) (bool, error) {
	res, err := s.db.ExecContext(ctx, `
		INSERT INTO processed_events (key, processed_at)
		VALUES ($1, $2)
		ON CONFLICT (key) DO NOTHING`, key, s.now())
	if err != nil {
		return false, fmt.Errorf("storage: claim event: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("storage: claim event: %w", err)
	}
	return n == 1, nil
}

// PruneEvents forgets the events processed before olderThan and returns how
// many it removed. Keep events for longer than Slack may redeliver them.
func (s *Store) PruneEvents(ctx context.Context, olderThan time.Time) (int64, error) {
	res, err := s.db.ExecContext(ctx, `
		DELETE FROM processed_events
		WHERE processed_at < $1`, olderThan)
	if err != nil {
		return 0, fmt.Errorf("storage: prune events: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return 0, fmt.Errorf("storage: prune events: %w", err)
	}
	return n, nil
}
