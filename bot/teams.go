package bot

import (
	"context"
	"fmt"
	"strings"

	"github.com/okrbot/okrbot/okr"
)

// cmdTeamCreate creates a team bound to the channel the command came from,
// with its creator as first lead.
func (b *Bot) cmdTeamCreate(ctx context.Context, in commandInput) (*reply, error) {
	ch := in.Slash.ChannelID
	if strings.HasPrefix(ch, "D") {
		return nil, okr.Errorf(okr.EINVALID, "Run this in your team's channel, not in a DM: the team's alerts and digests go to that channel.")
	}
	t := &okr.Team{Name: in.Cmd.Rest, ChannelID: ch, CreatedBy: in.Slash.UserID}
	if err := t.Validate(); err != nil {
		return nil, err
	}
	if err := b.store.CreateTeam(ctx, t); err != nil {
		return nil, err
	}
	return &reply{InChannel: true, Text: fmt.Sprintf(
		"✅ <@%s> created the team *%s*, bound to this channel, and is its first lead. Add people with `/okr team add @alice @bob`; create an objective with `/okr new`.",
		in.Slash.UserID, escape(t.Name))}, nil
}

// cmdTeamAdd adds members to the channel's team.
func (b *Bot) cmdTeamAdd(ctx context.Context, in commandInput) (*reply, error) {
	return b.addToTeam(ctx, in, okr.RoleMember)
}

// cmdTeamLead makes people leads of the channel's team.
func (b *Bot) cmdTeamLead(ctx context.Context, in commandInput) (*reply, error) {
	return b.addToTeam(ctx, in, okr.RoleLead)
}

func (b *Bot) addToTeam(ctx context.Context, in commandInput, role okr.Role) (*reply, error) {
	team, err := b.channelTeam(ctx, in.Slash.ChannelID)
	if err != nil {
		return nil, err
	}
	if err := b.requireLead(ctx, team, in.Slash.UserID, "add people to"); err != nil {
		return nil, err
	}
	for _, id := range in.Cmd.Users {
		p, err := b.people.get(ctx, id)
		switch {
		case err != nil:
			return nil, err
		case p.Bot:
			return nil, okr.Errorf(okr.EINVALID, "<@%s> is a bot; only people can be in a team.", id)
		case p.Deleted:
			return nil, okr.Errorf(okr.EINVALID, "<@%s> is deactivated in this workspace.", id)
		}
	}
	changed, err := b.store.AddMembers(ctx, team.ID, in.Cmd.Users, role, in.Slash.UserID)
	if err != nil {
		return nil, err
	}
	unchanged := without(in.Cmd.Users, changed)
	var parts []string
	if len(changed) > 0 {
		if role == okr.RoleLead {
			parts = append(parts, fmt.Sprintf("✅ %s %s now %s of *%s*.", names(changed), isAre(len(changed)), leadWord(len(changed)), escape(team.Name)))
		} else {
			parts = append(parts, fmt.Sprintf("✅ Added %s to *%s*.", names(changed), escape(team.Name)))
		}
	}
	if len(unchanged) > 0 {
		what := "in"
		if role == okr.RoleLead {
			what = leadWord(len(unchanged)) + " of"
		}
		parts = append(parts, fmt.Sprintf("%s %s already %s *%s*.", names(unchanged), isAre(len(unchanged)), what, escape(team.Name)))
	}
	return &reply{Text: strings.Join(parts, " ")}, nil
}

// channelTeam returns the team bound to a channel, with a helpful message
// when there is none.
func (b *Bot) channelTeam(ctx context.Context, channelID string) (*okr.Team, error) {
	t, err := b.store.TeamByChannel(ctx, channelID)
	if okr.ErrorCode(err) == okr.ENOTFOUND {
		return nil, okr.Errorf(okr.ENOTFOUND, "This channel has no team yet. Create one with `/okr team create NAME`, or run this in your team's channel.")
	}
	return t, err
}

// requireLead refuses, with the reason and who can help, someone who is not
// a lead of the team nor a workspace admin.
func (b *Bot) requireLead(ctx context.Context, team *okr.Team, userID, doing string) error {
	role, actor, err := b.roleIn(ctx, team.ID, userID)
	if err != nil {
		return err
	}
	if actor.CanLead(role) {
		return nil
	}
	return okr.Errorf(okr.EFORBIDDEN, "Only a lead of *%s* can %s it. %s", escape(team.Name), doing, b.leadsLine(ctx, team))
}

// leadsLine names a team's leads, for refusals.
func (b *Bot) leadsLine(ctx context.Context, team *okr.Team) string {
	members, err := b.store.TeamMembers(ctx, team.ID)
	if err != nil {
		return ""
	}
	var leads []string
	for _, m := range members {
		if m.Role == okr.RoleLead {
			leads = append(leads, m.UserID)
		}
	}
	if len(leads) == 0 {
		return "Ask a workspace admin."
	}
	return "Ask " + namesOr(leads) + "."
}

// namesOr joins mentions with "or".
func namesOr(ids []string) string {
	s := names(ids)
	if i := strings.LastIndex(s, " and "); i >= 0 {
		s = s[:i] + " or " + s[i+5:]
	}
	return s
}

func without(all, some []string) []string {
	skip := map[string]bool{}
	for _, s := range some {
		skip[s] = true
	}
	var out []string
	for _, a := range all {
		if !skip[a] {
			out = append(out, a)
		}
	}
	return out
}

func isAre(n int) string {
	if n == 1 {
		return "is"
	}
	return "are"
}

func leadWord(n int) string {
	if n == 1 {
		return "a lead"
	}
	return "leads"
}
