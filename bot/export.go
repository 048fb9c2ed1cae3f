package bot

import (
	"bytes"
	"context"
	"encoding/csv"
	"fmt"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/okrbot/okrbot/okr"
)

// ExportStore is what /okr export needs of the database.
type ExportStore interface {
	// EachExportRow calls fn with each row of a person's export of period
	// p, by time: the check-ins, key result updates and KPI readings of
	// the teams they belong to, or of every team when allTeams. An error
	// from fn stops it and is returned.
	EachExportRow(ctx context.Context, userID string, allTeams bool, p okr.Period, fn func(okr.ExportRow) error) error
}

// exportBudget bounds the work of one export: the query, and the upload.
const exportBudget = 2 * time.Minute

// exportCounts is how many rows of each kind an export holds.
type exportCounts map[okr.ExportKind]int

func (c exportCounts) total() int {
	return c[okr.ExportCheckin] + c[okr.ExportKRUpdate] + c[okr.ExportKPIReading]
}

// cmdExport answers /okr export [2027-Q1]: a CSV file of the quarter's
// check-ins, key result updates and KPI readings that the person may see,
// uploaded to their DM with the bot. Workspace admins see every team.
func (b *Bot) cmdExport(ctx context.Context, in commandInput) (*reply, error) {
	p, err := b.exportPeriod(in.Cmd.Args)
	if err != nil {
		return nil, err
	}
	user := in.Slash.UserID
	admin := b.actor(ctx, user).Admin
	scope := "every team"
	if !admin {
		teams, err := b.store.TeamsByMember(ctx, user)
		if err != nil {
			return nil, err
		}
		if len(teams) == 0 {
			return nil, okr.Errorf(okr.ENOTFOUND, "You're not in a team yet, so there is nothing of yours to export. "+
				"A lead of your team adds you with `/okr team add @you` in the team's channel; or start a team there with `/okr team create NAME`.")
		}
		names := make([]string, len(teams))
		for i, t := range teams {
			names[i] = "*" + escape(t.Name) + "*"
		}
		scope = joinAnd(names)
	}
	b.respond(ctx, in.Log, in.Slash.ResponseURL, &reply{Text: fmt.Sprintf("⏳ Preparing your export of %s…", p.Label())})

	ctx, cancel := context.WithTimeout(ctx, exportBudget)
	defer cancel()
	// The rows stream from the database into the CSV writer; the file is
	// kept whole until the upload because Slack asks its length first
	// (files.getUploadURLExternal).
	var file bytes.Buffer
	counts, err := b.writeExport(ctx, &file, user, admin, p)
	if err != nil {
		return nil, err
	}
	dm, _, _, err := b.api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{user}})
	if err != nil {
		return nil, fmt.Errorf("bot: export: open DM: %w", err)
	}
	name := "okrbot-" + p.Label() + ".csv"
	_, err = b.api.UploadFileContext(ctx, slack.UploadFileParameters{
		Filename:       name,
		FileSize:       file.Len(),
		Reader:         &file,
		Title:          "okrbot export " + p.Label(),
		Channel:        dm.ID,
		InitialComment: exportComment(p, scope, counts),
	})
	if err != nil {
		return nil, fmt.Errorf("bot: export: upload: %w", err)
	}
	if counts.total() == 0 {
		return &reply{Text: fmt.Sprintf("📎 Sent you `%s` in a DM: nothing was recorded in %s yet, so it holds just the header.", name, p.Label())}, nil
	}
	return &reply{Text: fmt.Sprintf("📎 Sent you `%s` in a DM: %s of %s.", name, howMany(counts.total(), "row"), p.Label())}, nil
}

// exportPeriod returns the quarter an export asks for: the one named, or
// the current one.
func (b *Bot) exportPeriod(args []string) (okr.Period, error) {
	current := b.currentQuarter()
	if len(args) == 0 {
		return current, nil
	}
	p, err := okr.ParsePeriod(args[0], b.cfg.FiscalYearStart, b.cfg.Location)
	switch {
	case err == nil && p.Kind == okr.Quarter:
		return p, nil
	case err == nil:
		return okr.Period{}, okr.Errorf(okr.EINVALID, "%s is a whole year; an export holds one quarter: write one like `/okr export %d-Q1`.",
			p.Label(), p.FiscalYear)
	}
	return okr.Period{}, okr.Errorf(okr.EINVALID, "“%s” is not a quarter: write one like `/okr export %s`, or leave it out for this quarter (%s).",
		args[0], current.Label(), current.Label())
}

// writeExport writes a person's export of p to w as CSV (RFC 4180: CRLF
// line ends, fields quoted as needed, UTF-8, one header row), row by row as
// the store sends them, and counts the rows of each kind.
func (b *Bot) writeExport(ctx context.Context, w *bytes.Buffer, userID string, allTeams bool, p okr.Period) (exportCounts, error) {
	cw := csv.NewWriter(w)
	cw.UseCRLF = true
	if err := cw.Write(okr.ExportHeader()); err != nil {
		return nil, err
	}
	counts := exportCounts{}
	err := b.store.EachExportRow(ctx, userID, allTeams, p, func(r okr.ExportRow) error {
		counts[r.Kind]++
		return cw.Write(r.Record())
	})
	if err != nil {
		return nil, err
	}
	cw.Flush()
	if err := cw.Error(); err != nil {
		return nil, fmt.Errorf("bot: export: %w", err)
	}
	return counts, nil
}

// exportComment is the message an export's file comes with: what it holds.
func exportComment(p okr.Period, scope string, c exportCounts) string {
	head := fmt.Sprintf("Your okrbot export of %s (%s) for %s", p.Label(), p.DateRange(), scope)
	if c.total() == 0 {
		return head + ": no check-ins, key result updates or KPI readings were recorded in that quarter yet, so the file holds just its header row."
	}
	return fmt.Sprintf("%s: %s (%s, %s and %s) in time order, times in UTC.", head, howMany(c.total(), "row"),
		howMany(c[okr.ExportCheckin], "check-in"), howMany(c[okr.ExportKRUpdate], "key result update"),
		howMany(c[okr.ExportKPIReading], "KPI reading"))
}

// howMany says how many of a thing there are: "1 row", "3 rows".
func howMany(n int, thing string) string {
	return fmt.Sprintf("%d %s%s", n, thing, plural(n))
}

// joinAnd joins words as people list them: "A", "A and B", "A, B and C".
func joinAnd(words []string) string {
	if len(words) <= 1 {
		return strings.Join(words, "")
	}
	return strings.Join(words[:len(words)-1], ", ") + " and " + words[len(words)-1]
}
