package bot

import (
	"context"
	"fmt"
	"time"

	"github.com/okrbot/okrbot/okr"
)

// maxAway is the longest one can be away in one go.
const maxAway = 366 * 24 * time.Hour

// cmdAway answers /okr away until DATE.
func (b *Bot) cmdAway(ctx context.Context, in commandInput) (*reply, error) {
	raw := in.Cmd.Args[1]
	until, err := time.Parse("2006-01-02", raw)
	if err != nil {
		return nil, okr.Errorf(okr.EINVALID, "“%s” is not a date: write it as YYYY-MM-DD, e.g. `/okr away until 2027-01-05`.", raw)
	}
	today := b.cfg.Now().In(b.location(ctx, in.Slash.UserID))
	todayDate := time.Date(today.Year(), today.Month(), today.Day(), 0, 0, 0, 0, time.UTC)
	switch {
	case until.Before(todayDate):
		return nil, okr.Errorf(okr.EINVALID, "%s has passed; give a day from today on, e.g. `/okr away until %s`.", until.Format("Jan 2, 2006"), todayDate.AddDate(0, 0, 14).Format("2006-01-02"))
	case until.Sub(todayDate) > maxAway:
		return nil, okr.Errorf(okr.EINVALID, "That is more than a year away; pick a date within a year.")
	}
	if err := b.store.SetAway(ctx, in.Slash.UserID, until); err != nil {
		return nil, err
	}
	return &reply{Text: fmt.Sprintf("🌴 You're away until %s: no check-ins or reminders until then, and you count as away, not missed. `/okr back` ends it early.", until.Format("Monday, Jan 2, 2006"))}, nil
}

// cmdBack answers /okr back.
func (b *Bot) cmdBack(ctx context.Context, in commandInput) (*reply, error) {
	was, err := b.store.ClearAway(ctx, in.Slash.UserID)
	if err != nil {
		return nil, err
	}
	if !was {
		return &reply{Text: "You weren't away, so nothing changed."}, nil
	}
	return &reply{Text: "👋 Welcome back! Your check-ins start again with the next one."}, nil
}
