package okr

import (
	"strconv"
	"strings"
	"time"
)

// ExportKind says what a row of an export is.
type ExportKind string

// Kinds of export row.
const (
	ExportCheckin    ExportKind = "checkin"
	ExportKRUpdate   ExportKind = "kr_update"
	ExportKPIReading ExportKind = "kpi_reading"
)

// ExportRow is one line of a person's export of a period: a check-in, a key
// result update or a KPI reading, with the names a spreadsheet needs. Fields
// that do not apply to its kind are zero.
type ExportRow struct {
	Kind ExportKind `db:"kind"`
	Team string     `db:"team"`
	// Objective and KeyResult name a KR update's key result.
	Objective string `db:"objective"`
	KeyResult string `db:"key_result"`
	// KPI names a reading's KPI.
	KPI    string `db:"kpi"`
	UserID string `db:"user_id"`
	// At is when it happened: when a check-in was answered, or when it was
	// due if it never was; when an update was made; when a reading was taken.
	At time.Time `db:"at"`
	// Value is an update's or a reading's value; nil for a check-in.
	Value *float64 `db:"value"`
	Unit  string   `db:"unit"`
	// Confidence is an update's confidence, nil when none was reported.
	Confidence *int   `db:"confidence"`
	Status     Status `db:"status"`
	// Comment is an update's comment or a reading's note.
	Comment string `db:"comment"`
	// Blockers and CheckinState are a check-in's.
	Blockers     string       `db:"blockers"`
	CheckinState CheckinState `db:"checkin_state"`
	// CheckinID is the check-in's id, or that of the check-in an update or
	// a reading was reported in; nil for one reported outside a check-in.
	CheckinID *int64 `db:"checkin_id"`
}

// ExportHeader returns the column names of an export, in the order of
// ExportRow.Record.
func ExportHeader() []string {
	return []string{
		"type", "team", "objective", "key_result", "kpi", "user", "time",
		"value", "unit", "confidence", "status", "comment", "blockers",
		"checkin_state", "checkin_id",
	}
}

// Record returns the row as the cells of a CSV record, in the order of
// ExportHeader: the time in RFC 3339 UTC, numbers as plain decimals, and
// people's text made safe for spreadsheets (see spreadsheetText).
func (r ExportRow) Record() []string {
	var value, confidence, checkin string
	if r.Value != nil {
		value = strconv.FormatFloat(*r.Value, 'f', -1, 64)
	}
	if r.Confidence != nil {
		confidence = strconv.Itoa(*r.Confidence)
	}
	if r.CheckinID != nil {
		checkin = strconv.FormatInt(*r.CheckinID, 10)
	}
	return []string{
		string(r.Kind),
		spreadsheetText(r.Team),
		spreadsheetText(r.Objective),
		spreadsheetText(r.KeyResult),
		spreadsheetText(r.KPI),
		r.UserID,
		r.At.UTC().Format(time.RFC3339),
		value,
		spreadsheetText(r.Unit),
		confidence,
		string(r.Status),
		spreadsheetText(r.Comment),
		spreadsheetText(r.Blockers),
		string(r.CheckinState),
		checkin,
	}
}

// spreadsheetText returns text people wrote so that a spreadsheet opening
// the file shows it rather than running it: a cell starting with =, +, -,
// @, a tab or a carriage return is read as a formula by Excel, LibreOffice
// and Google Sheets, so it gets a leading apostrophe, as OWASP advises
// against CSV injection. Everything else is left as written.
func spreadsheetText(s string) string {
	if s != "" && strings.ContainsRune("=+-@\t\r", rune(s[0])) {
		return "'" + s
	}
	return s
}
