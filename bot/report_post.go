package bot

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/slack-go/slack"

	"github.com/okrbot/okrbot/okr"
)

// reportEventType marks a report's first message in its metadata, so a
// poster that died before recording it can be found in the history.
const reportEventType = "okrbot_report"

// manualPrefix starts the key of a report asked for with a command:
// "manual:" + the summary's period label (none for a digest) + ":" + a
// unique suffix.
const manualPrefix = "manual:"

// nothingToReport skips a scheduled report of a team with nothing in it.
var nothingToReport = &okr.Error{Code: okr.ENOTHING, Message: "nothing to report yet"}

// reportPeriod returns the quarter a report is about: the summary's period
// from its key, or the quarter of now for a digest.
func (b *Bot) reportPeriod(r okr.Report) (okr.Period, error) {
	label := r.Key
	if r.Kind == okr.ReportDigest {
		return b.currentQuarter(), nil
	}
	if rest, ok := strings.CutPrefix(label, manualPrefix); ok {
		label, _, _ = strings.Cut(rest, ":")
	}
	p, err := okr.ParsePeriod(label, b.cfg.FiscalYearStart, b.cfg.Location)
	if err != nil {
		return okr.Period{}, &okr.Error{Code: okr.EUNDELIVERABLE, Message: fmt.Sprintf("the report's period %q is not a quarter", label)}
	}
	return p, nil
}

// PostReport builds a digest or a summary and posts it in its team's
// channel; what does not fit in one message goes on in its thread. A
// summary's chart is uploaded first, privately, and shown in the message,
// so the summary is one post: found again by its metadata, never doubled.
func (b *Bot) PostReport(ctx context.Context, r okr.Report) (string, string, error) {
	team, err := b.store.Team(ctx, r.TeamID)
	if err != nil {
		return "", "", err
	}
	p, err := b.reportPeriod(r)
	if err != nil {
		return "", "", err
	}
	var blocks []slack.Block
	var text string
	// One asked for is posted even when there is nothing to report: it
	// says so, and how to start.
	manual := strings.HasPrefix(r.Key, manualPrefix)
	switch r.Kind {
	case okr.ReportDigest:
		d, err := b.store.DigestData(ctx, team.ID, p, b.now())
		if err != nil {
			return "", "", err
		}
		if d.Empty() && !manual {
			return "", "", nothingToReport
		}
		blocks, text = digestBlocks(d), digestText(d)
	case okr.ReportSummary:
		s, err := b.store.SummaryData(ctx, team.ID, p, b.now())
		if err != nil {
			return "", "", err
		}
		if s.Empty() && !manual {
			return "", "", nothingToReport
		}
		fileID := b.uploadChart(ctx, s, r)
		blocks, text = summaryBlocks(s, fileID), summaryText(s)
	default:
		return "", "", &okr.Error{Code: okr.EUNDELIVERABLE, Message: "unknown kind of report " + strconv.Quote(r.Kind)}
	}
	parts := splitMessage(blocks)
	ch, ts, err := b.api.PostMessageContext(ctx, team.ChannelID,
		slack.MsgOptionText(text, false),
		slack.MsgOptionBlocks(parts[0]...),
		slack.MsgOptionMetadata(slack.SlackMetadata{EventType: reportEventType, EventPayload: map[string]any{"report_id": r.ID}}),
	)
	if err != nil {
		return "", "", asUnpostable(err)
	}
	for i, part := range parts[1:] {
		// The first message is out: the rest is posted as best we can,
		// never failing the report into a second first message.
		if _, _, err := b.api.PostMessageContext(ctx, ch,
			slack.MsgOptionText(fmt.Sprintf("%s (%d of %d)", text, i+2, len(parts)), false),
			slack.MsgOptionBlocks(part...), slack.MsgOptionTS(ts)); err != nil {
			b.log.Error("cannot post the rest of a report in its thread",
				"report_id", r.ID, "part", i+2, "error", redactError(err))
		}
	}
	return ch, ts, nil
}

// uploadChart renders and uploads a summary's chart, privately (it is
// shown in the summary's message), and returns its file id; "" when there
// is no chart renderer or it failed, which the summary survives.
func (b *Bot) uploadChart(ctx context.Context, s *okr.Summary, r okr.Report) string {
	if b.cfg.Chart == nil {
		return ""
	}
	png, err := b.cfg.Chart(s)
	if err != nil {
		b.log.Error("cannot draw a summary's chart", "report_id", r.ID, "error", err.Error())
		return ""
	}
	f, err := b.api.UploadFileContext(ctx, slack.UploadFileParameters{
		Filename: fmt.Sprintf("okrbot-%s-%s.png", slug(s.Team.Name), s.Period.Label()),
		Title:    fmt.Sprintf("%s · %s · key result progress by week", s.Team.Name, s.Period.Label()),
		AltTxt:   "Key result progress by week against the expected pace",
		Reader:   bytes.NewReader(png),
		FileSize: len(png),
	})
	if err != nil {
		b.log.Error("cannot upload a summary's chart", "report_id", r.ID, "error", redactError(err))
		return ""
	}
	return f.ID
}

// slug makes a name safe for a file name: lower case letters, digits and
// dashes.
func slug(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			dash = false
		} else if !dash && b.Len() > 0 {
			b.WriteByte('-')
			dash = true
		}
	}
	s := strings.TrimSuffix(b.String(), "-")
	if s == "" {
		return "team"
	}
	return s
}

// FindReportPost looks for a report's first message in its team's channel.
func (b *Bot) FindReportPost(ctx context.Context, r okr.Report) (string, string, bool, error) {
	team, err := b.store.Team(ctx, r.TeamID)
	if err != nil {
		return "", "", false, err
	}
	ts, found, err := b.findPost(ctx, team.ChannelID, r.CreatedAt, reportEventType, "report_id", r.ID)
	return team.ChannelID, ts, found, err
}

// findPost looks in a channel's history, from a minute before since, for
// the bot's message whose metadata has the event type and key = id. A
// channel whose history the bot cannot read holds no message of its.
func (b *Bot) findPost(ctx context.Context, channel string, since time.Time, eventType, key string, id int64) (string, bool, error) {
	ts, found, err := b.scanHistory(ctx, channel, since, eventType, key, id)
	if err != nil && okr.ErrorCode(asUnpostable(err)) == okr.EUNDELIVERABLE {
		return "", false, nil
	}
	return ts, found, err
}

// scanHistory pages through a channel's history from a minute before since
// for the message whose metadata has the event type and key = id.
func (b *Bot) scanHistory(ctx context.Context, channel string, since time.Time, eventType, key string, id int64) (string, bool, error) {
	params := &slack.GetConversationHistoryParameters{
		ChannelID: channel, Oldest: slackTS(since.Add(-time.Minute)), Limit: 100, IncludeAllMetadata: true,
	}
	want := strconv.FormatInt(id, 10)
	for {
		h, err := b.api.GetConversationHistoryContext(ctx, params)
		if err != nil {
			return "", false, err
		}
		for _, m := range h.Messages {
			if m.Metadata.EventType == eventType && fmt.Sprint(m.Metadata.EventPayload[key]) == want {
				return m.Timestamp, true, nil
			}
		}
		if !h.HasMore || h.ResponseMetaData.NextCursor == "" {
			return "", false, nil
		}
		params.Cursor = h.ResponseMetaData.NextCursor
	}
}
