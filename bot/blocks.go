package bot

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/okrbot/okrbot/okr"
)

// Slack's Block Kit limits the builders keep to.
const (
	maxMessageBlocks = 50
	maxViewBlocks    = 100
	maxSectionText   = 3000
	maxHeaderText    = 150
	maxOptionText    = 75
	maxOptions       = 100
)

// progressBar draws a progress of 0–1 as ten cells.
func progressBar(p float64) string {
	p = math.Max(0, math.Min(1, p))
	full := int(math.Round(p * 10))
	return strings.Repeat("█", full) + strings.Repeat("░", 10-full)
}

// statusEmoji marks a key result's status from its confidence.
func statusEmoji(s okr.Status) string {
	switch s {
	case okr.OnTrack:
		return "🟢"
	case okr.AtRisk:
		return "🟡"
	case okr.OffTrack:
		return "🔴"
	}
	return "⚪"
}

// krLine describes a key result on one line: where it stands against its
// target, with units, and its progress.
func krLine(kr *okr.KeyResult) string {
	var where string
	if kr.Kind == okr.Milestone {
		where = "not done yet"
		if kr.Current >= 1 {
			where = "done ✓"
		}
	} else {
		where = fmt.Sprintf("now %s, target %s (from %s)",
			okr.FormatValue(kr.Current, kr.Unit), okr.FormatValue(kr.Target, kr.Unit), okr.FormatValue(kr.Start, kr.Unit))
	}
	conf := ""
	if kr.Confidence > 0 {
		conf = fmt.Sprintf(" · confidence %d/10", kr.Confidence)
	}
	return fmt.Sprintf("%s *%s* — %s · %s · <@%s>%s",
		statusEmoji(okr.ConfidenceStatus(kr.Confidence)), escape(kr.Title), where,
		okr.FormatPercent(kr.Progress()), kr.OwnerID, conf)
}

// objectiveText describes an objective and its key results for a section,
// within Slack's section limit.
func objectiveText(o *okr.Objective) string {
	head := fmt.Sprintf("*%s*  _%s_ · <@%s>\n`%s` *%s*",
		escape(o.Title), o.Kind, o.OwnerID, progressBar(o.Progress()), okr.FormatPercent(o.Progress()))
	if len(o.KeyResults) == 0 {
		return head + "\n_No key results yet: add one with `/okr kr add`._"
	}
	var b strings.Builder
	b.WriteString(head)
	for i := range o.KeyResults {
		line := "\n" + krLine(&o.KeyResults[i])
		more := fmt.Sprintf("\n…and %d more key results (see the App Home).", len(o.KeyResults)-i)
		if utf8.RuneCountInString(b.String())+utf8.RuneCountInString(line)+len(more) > maxSectionText {
			b.WriteString(more)
			break
		}
		b.WriteString(line)
	}
	return b.String()
}

// objectiveSection shows an objective and its key results, with a History
// menu to open the history of any of them.
func objectiveSection(o *okr.Objective) *slack.SectionBlock {
	sec := section(objectiveText(o))
	if len(o.KeyResults) == 0 {
		return sec
	}
	var opts []*slack.OptionBlockObject
	for i := range o.KeyResults[:min(len(o.KeyResults), maxOptions)] {
		kr := &o.KeyResults[i]
		opts = append(opts, option(strconv.FormatInt(kr.ID, 10), kr.Title))
	}
	sec.Accessory = slack.NewAccessory(slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain("History…"), actionKRHistory, opts...))
	return sec
}

// teamObjectives is one team's objectives in a period.
type teamObjectives struct {
	Team       okr.Team
	Period     okr.Period
	Objectives []okr.Objective
}

// listBlocks lays out objectives by team, within a message's 50 blocks:
// what does not fit is counted in a last line, never dropped silently.
func listBlocks(title string, groups []teamObjectives) []slack.Block {
	return listBlocksWith(title, groups, nil)
}

// listBlocksWith is listBlocks followed by more blocks (KPIs), keeping room
// for them within the message's limit.
func listBlocksWith(title string, groups []teamObjectives, more []slack.Block) []slack.Block {
	blocks := []slack.Block{header(title)}
	budget := maxMessageBlocks - 2 - len(more) // keep room for the "and N more" line
	left := 0
	for _, g := range groups {
		left += len(g.Objectives)
	}
	for _, g := range groups {
		if budget < 3 {
			break
		}
		blocks = append(blocks, contextBlock(fmt.Sprintf("*%s* · %s (%s)", escape(g.Team.Name), g.Period.Label(), g.Period.DateRange())))
		budget--
		if len(g.Objectives) == 0 {
			blocks = append(blocks, section("_No objectives yet. Create one with `/okr new`._"))
			budget--
		}
		for i := range g.Objectives {
			if budget < 1 {
				break
			}
			blocks = append(blocks, objectiveSection(&g.Objectives[i]))
			budget--
			left--
		}
	}
	if left > 0 {
		blocks = append(blocks, contextBlock(fmt.Sprintf("…and %d more objectives. Narrow it down with `/okr list #channel` or `/okr list @person`.", left)))
	}
	return append(blocks, more...)
}

func header(text string) *slack.HeaderBlock {
	return slack.NewHeaderBlock(slack.NewTextBlockObject(slack.PlainTextType, truncate(text, maxHeaderText), true, false))
}

func section(mrkdwn string) *slack.SectionBlock {
	return slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, truncate(mrkdwn, maxSectionText), false, false), nil, nil)
}

func contextBlock(mrkdwn string) *slack.ContextBlock {
	return slack.NewContextBlock("", slack.NewTextBlockObject(slack.MarkdownType, truncate(mrkdwn, maxSectionText), false, false))
}

func plain(text string) *slack.TextBlockObject {
	return slack.NewTextBlockObject(slack.PlainTextType, text, false, false)
}

func button(actionID, label, value string, style slack.Style) *slack.ButtonBlockElement {
	b := slack.NewButtonBlockElement(actionID, value, plain(label))
	if style != "" {
		b.Style = style
	}
	return b
}

// truncate cuts s to at most n runes, ending with an ellipsis when cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

// escape makes user text safe inside mrkdwn: no pings, no links, no markup
// that breaks ours.
func escape(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// names joins user mentions as people read them: "<@A>, <@B> and <@C>".
func names(userIDs []string) string {
	m := make([]string, len(userIDs))
	for i, id := range userIDs {
		m[i] = "<@" + id + ">"
	}
	switch len(m) {
	case 0:
		return "nobody"
	case 1:
		return m[0]
	}
	return strings.Join(m[:len(m)-1], ", ") + " and " + m[len(m)-1]
}
