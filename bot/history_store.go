package bot

import (
	"context"
	"time"

	"github.com/okrbot/okrbot/okr"
)

// HistoryStore is what the App Home, key result histories and corrections
// need of the database.
type HistoryStore interface {
	// KeyResult returns a key result with its objective's title and team.
	KeyResult(ctx context.Context, id int64) (*okr.OwnedKeyResult, error)
	// KeyResultsAtRisk returns the key results at risk or off track
	// (confidence 1–6) of active objectives open at now in a person's
	// teams: at most limit, least confident first.
	KeyResultsAtRisk(ctx context.Context, userID string, now time.Time, limit int) ([]okr.OwnedKeyResult, error)
	// KRUpdate returns a key result update by id.
	KRUpdate(ctx context.Context, id int64) (*okr.KRUpdate, error)
	// KRHistory returns a key result's latest updates, at most limit,
	// newest report first, each correction right before what it corrects.
	KRHistory(ctx context.Context, krID int64, limit int) ([]okr.KRHistoryEntry, error)
	// CorrectKRUpdate records u as a new update correcting u.CorrectsID,
	// never changing the corrected one. The key result follows it when the
	// corrected update stands for its latest report; it reports whether it
	// did. ECONFLICT when the update was corrected already.
	CorrectKRUpdate(ctx context.Context, u *okr.KRUpdate) (bool, error)
}
