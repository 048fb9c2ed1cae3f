package bot

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/okrbot/okrbot/okr"
)

// cmdHelp answers /okr help with every command and, in a team's channel,
// the team's schedule.
func (b *Bot) cmdHelp(ctx context.Context, in commandInput) (*reply, error) {
	var lines []string
	for _, s := range grammar {
		lines = append(lines, fmt.Sprintf("`%s` — %s", s.usage, s.summary))
	}
	text := "*okrbot* runs your team's OKRs and KPIs here in Slack.\n" + strings.Join(lines, "\n") +
		"\nAdd `help` after any command for just its usage." +
		"\n\nA key result's history: pick it in the *History…* menu of `/okr list` (or press *History* in the App Home). " +
		"There you can correct an update of yours; a lead can correct anyone's."
	if team, err := b.store.TeamByChannel(ctx, in.Slash.ChannelID); err == nil {
		if s, err := b.store.Schedule(ctx, team.ID); err == nil {
			text += fmt.Sprintf("\n\n*%s* here: %s A lead changes it with `/okr schedule`.", escape(team.Name), upperFirst(scheduleLine(s, b.cfg.Location)))
		}
	}
	return &reply{Text: text}, nil
}

// upperFirst capitalises a sentence's first letter.
func upperFirst(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// helpReply answers "/okr <command> help".
func helpReply(s commandSpec) *reply {
	return &reply{Text: fmt.Sprintf("`%s` — %s", s.usage, s.summary)}
}

// errorReply says what went wrong and, for bad input, how to do it right.
func errorReply(message string, err error, cmd Command) *reply {
	text := ":warning: " + message
	var ue *UsageError
	switch {
	case errors.As(err, &ue) && ue.Usage != "":
		text += "\nUsage:\n```" + ue.Usage + "```"
	case okr.ErrorCode(err) == okr.EINVALID:
		text += "\nUsage: `" + cmd.Spec().usage + "`"
	}
	return &reply{Text: text}
}
