package bot

import (
	"context"
	"time"

	"github.com/okrbot/okrbot/okr"
)

// KPIStore is what KPIs and alerts need of the database.
type KPIStore interface {
	// CreateKPI stores a KPI, setting its ID; ECONFLICT when its team has an
	// active KPI of that name (case-insensitive).
	CreateKPI(ctx context.Context, k *okr.KPI) error
	// UpdateKPI replaces a KPI's fields (not its team).
	UpdateKPI(ctx context.Context, k *okr.KPI) error
	// ArchiveKPI archives a KPI: it is no longer due nor evaluated, and its
	// open alerts are resolved without an announcement.
	ArchiveKPI(ctx context.Context, id int64, at time.Time) error
	// KPI returns a KPI by id.
	KPI(ctx context.Context, id int64) (*okr.KPI, error)
	// KPIsByTeam returns a team's active KPIs by name.
	KPIsByTeam(ctx context.Context, teamID int64) ([]okr.KPI, error)
	// KPIsOwnedBy returns a person's active KPIs in every team, by team and name.
	KPIsOwnedBy(ctx context.Context, userID string) ([]okr.KPI, error)
	// KPIsOwnedByAny is KPIsOwnedBy of many people, by owner.
	KPIsOwnedByAny(ctx context.Context, userIDs []string) (map[string][]okr.KPI, error)
	// FindKPIs returns the active KPIs of a person's teams named name,
	// case-insensitively; when none is, those whose name contains it.
	FindKPIs(ctx context.Context, userID, name string) ([]okr.KPI, error)
	// Readings returns a KPI's latest readings, newest first.
	Readings(ctx context.Context, kpiID int64, limit int) ([]okr.Reading, error)
	// LatestReadings returns the latest reading of each KPI that has one.
	LatestReadings(ctx context.Context, kpiIDs []int64) (map[int64]okr.Reading, error)
	// RecordReading stores a reading, sets the value of key results that
	// follow the KPI, and evaluates the KPI's health against its open alert,
	// writing the alert events that causes, all in one transaction. It sets
	// r.ID and returns the events.
	RecordReading(ctx context.Context, r *okr.Reading) ([]okr.AlertEvent, error)
	// LinkKeyResult makes a key result follow a KPI (kpiID 0 unlinks it).
	LinkKeyResult(ctx context.Context, krID, kpiID int64) error
	// OpenAlerts returns a team's open alerts.
	OpenAlerts(ctx context.Context, teamID int64) ([]okr.Alert, error)
	// AlertEvent returns an alert event by id.
	AlertEvent(ctx context.Context, id int64) (*okr.AlertEvent, error)
}
