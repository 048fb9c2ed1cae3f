package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"

	"github.com/slack-go/slack"

	"github.com/okrbot/okrbot/okr"
)

// cmdGlance answers bare /okr: my objectives and key results this quarter,
// and my KPIs with their health.
func (b *Bot) cmdGlance(ctx context.Context, in commandInput) (*reply, error) {
	q := b.currentQuarter()
	objs, err := b.store.ObjectivesByOwner(ctx, in.Slash.UserID, q.Label())
	if err != nil {
		return nil, err
	}
	ks, err := b.store.KPIsOwnedBy(ctx, in.Slash.UserID)
	if err != nil {
		return nil, err
	}
	if len(objs) == 0 && len(ks) == 0 {
		return &reply{Text: fmt.Sprintf("You own no objectives, key results or KPIs in %s yet. Create an objective with `/okr new` or a KPI with `/okr kpi new`, or see your team's with `/okr list`.", q.Label())}, nil
	}
	groups, err := b.groupByTeam(ctx, objs, q)
	if err != nil {
		return nil, err
	}
	kpis, err := b.kpiBlocks(ctx, "Your KPIs", ks)
	if err != nil {
		return nil, err
	}
	blocks := listBlocksWith("Your OKRs · "+q.Label(), groups, kpis)
	if len(objs) == 0 {
		blocks = append([]slack.Block{header("Your OKRs · " + q.Label()), section("_You own no objectives or key results this quarter._")}, kpis...)
	}
	return &reply{Text: "Your OKRs and KPIs for " + q.Label(), Blocks: blocks}, nil
}

// cmdList answers /okr list [@user|#channel].
func (b *Bot) cmdList(ctx context.Context, in commandInput) (*reply, error) {
	q := b.currentQuarter()
	me := in.Slash.UserID
	switch {
	case len(in.Cmd.Users) == 1:
		return b.listPerson(ctx, me, in.Cmd.Users[0], q)
	case in.Cmd.Channel != "":
		team, err := b.store.TeamByChannel(ctx, in.Cmd.Channel)
		if okr.ErrorCode(err) == okr.ENOTFOUND {
			return nil, okr.Errorf(okr.ENOTFOUND, "<#%s> has no team. Teams are created with `/okr team create NAME` in their channel.", in.Cmd.Channel)
		} else if err != nil {
			return nil, err
		}
		return b.listTeams(ctx, me, []okr.Team{*team}, q)
	}
	// This channel's team when the reader may see it, else their own teams.
	if team, err := b.store.TeamByChannel(ctx, in.Slash.ChannelID); err == nil {
		if r, err := b.listTeams(ctx, me, []okr.Team{*team}, q); okr.ErrorCode(err) != okr.EFORBIDDEN {
			return r, err
		}
	} else if okr.ErrorCode(err) != okr.ENOTFOUND {
		return nil, err
	}
	teams, err := b.store.TeamsByMember(ctx, me)
	if err != nil {
		return nil, err
	}
	if len(teams) == 0 {
		return nil, okr.Errorf(okr.ENOTFOUND, "You're not in a team yet. Create one with `/okr team create NAME` in your team's channel, or ask a lead to add you.")
	}
	return b.listTeams(ctx, me, teams, q)
}

// listTeams lists the objectives of teams the reader may see.
func (b *Bot) listTeams(ctx context.Context, reader string, teams []okr.Team, q okr.Period) (*reply, error) {
	var groups []teamObjectives
	var ks []okr.KPI
	for i := range teams {
		if ok, err := b.canRead(ctx, &teams[i], reader); err != nil {
			return nil, err
		} else if !ok {
			return nil, okr.Errorf(okr.EFORBIDDEN, "You're not in *%s*, so you can't see its OKRs. %s", escape(teams[i].Name), b.leadsLine(ctx, &teams[i]))
		}
		objs, err := b.store.ObjectivesByTeam(ctx, teams[i].ID, q.Label())
		if err != nil {
			return nil, err
		}
		groups = append(groups, teamObjectives{Team: teams[i], Period: q, Objectives: objs})
		tk, err := b.store.KPIsByTeam(ctx, teams[i].ID)
		if err != nil {
			return nil, err
		}
		ks = append(ks, tk...)
	}
	kpis, err := b.kpiBlocks(ctx, "KPIs", ks)
	if err != nil {
		return nil, err
	}
	return &reply{Text: "OKRs for " + q.Label(), Blocks: listBlocksWith("OKRs · "+q.Label(), groups, kpis)}, nil
}

// listPerson lists a person's objectives in the teams the reader may see.
func (b *Bot) listPerson(ctx context.Context, reader, person string, q okr.Period) (*reply, error) {
	objs, err := b.store.ObjectivesByOwner(ctx, person, q.Label())
	if err != nil {
		return nil, err
	}
	groups, err := b.groupByTeam(ctx, objs, q)
	if err != nil {
		return nil, err
	}
	visible := groups[:0]
	for _, g := range groups {
		if ok, err := b.canRead(ctx, &g.Team, reader); err != nil {
			return nil, err
		} else if ok {
			visible = append(visible, g)
		}
	}
	owned, err := b.store.KPIsOwnedBy(ctx, person)
	if err != nil {
		return nil, err
	}
	var ks []okr.KPI
	readable := map[int64]bool{}
	for _, k := range owned {
		ok, seen := readable[k.TeamID]
		if !seen {
			t, err := b.store.Team(ctx, k.TeamID)
			if err != nil {
				return nil, err
			}
			if ok, err = b.canRead(ctx, t, reader); err != nil {
				return nil, err
			}
			readable[k.TeamID] = ok
		}
		if ok {
			ks = append(ks, k)
		}
	}
	if len(visible) == 0 && len(ks) == 0 {
		return &reply{Text: fmt.Sprintf("<@%s> owns no objectives, key results or KPIs in your teams in %s.", person, q.Label())}, nil
	}
	kpis, err := b.kpiBlocks(ctx, "KPIs", ks)
	if err != nil {
		return nil, err
	}
	return &reply{Text: "OKRs of a teammate", Blocks: listBlocksWith("OKRs · "+q.Label(), visible, kpis)}, nil
}

// canRead reports whether a person may see a team's OKRs: its members and
// workspace admins may.
func (b *Bot) canRead(ctx context.Context, team *okr.Team, userID string) (bool, error) {
	role, err := b.store.MemberRole(ctx, team.ID, userID)
	if err != nil || role != "" {
		return role != "", err
	}
	return b.actor(ctx, userID).Admin, nil
}

// groupByTeam groups objectives by their team, keeping their order.
func (b *Bot) groupByTeam(ctx context.Context, objs []okr.Objective, q okr.Period) ([]teamObjectives, error) {
	var groups []teamObjectives
	index := map[int64]int{}
	for _, o := range objs {
		i, ok := index[o.TeamID]
		if !ok {
			t, err := b.store.Team(ctx, o.TeamID)
			if err != nil {
				return nil, err
			}
			i = len(groups)
			index[o.TeamID] = i
			groups = append(groups, teamObjectives{Team: *t, Period: q})
		}
		groups[i].Objectives = append(groups[i].Objectives, o)
	}
	return groups, nil
}

// cmdNewObjective opens the new-objective modal.
func (b *Bot) cmdNewObjective(ctx context.Context, in commandInput) (*reply, error) {
	return nil, b.openNewObjective(ctx, in.Slash.TriggerID, in.Slash.UserID, in.Slash.ChannelID)
}

// actNewObjective opens the new-objective modal from a button.
func (b *Bot) actNewObjective(ctx context.Context, _ *slog.Logger, cb slack.InteractionCallback, _ *slack.BlockAction) error {
	return b.openNewObjective(ctx, cb.TriggerID, cb.User.ID, cb.Channel.ID)
}

func (b *Bot) openNewObjective(ctx context.Context, triggerID, userID, channelID string) error {
	v, err := b.newObjectiveView(ctx, userID, privateMetadata{ChannelID: channelID, KRSlots: 1})
	if err != nil {
		return err
	}
	return b.openView(ctx, triggerID, v)
}

// actObjectiveAddKR adds a key result to an open new-objective modal. Slack
// keeps what was typed in the inputs that stay.
func (b *Bot) actObjectiveAddKR(ctx context.Context, _ *slog.Logger, cb slack.InteractionCallback, _ *slack.BlockAction) error {
	meta := parseMetadata(cb.View.PrivateMetadata)
	meta.KRSlots = max(meta.KRSlots, 1) + 1
	v, err := b.newObjectiveView(ctx, cb.User.ID, meta)
	if err != nil {
		return err
	}
	_, err = b.api.UpdateViewContext(ctx, v, "", cb.View.Hash, cb.View.ID)
	if refused, ok := errors.AsType[slack.SlackErrorResponse](err); ok && refused.Err == "hash_conflict" {
		return nil // a second click on the same modal: the first added the key result
	}
	return err
}

// newObjectiveView builds the new-objective modal for a person, for the
// team of meta's channel when they are in it.
func (b *Bot) newObjectiveView(ctx context.Context, userID string, meta privateMetadata) (slack.ModalViewRequest, error) {
	teams, err := b.store.TeamsByMember(ctx, userID)
	if err != nil {
		return slack.ModalViewRequest{}, err
	}
	meta.TeamID = 0
	channelID := meta.ChannelID
	if t, err := b.store.TeamByChannel(ctx, channelID); err == nil {
		if ok, err := b.canRead(ctx, t, userID); err == nil && ok {
			meta.TeamID = t.ID
			teams = withTeam(teams, *t)
		}
	}
	if len(teams) == 0 {
		return slack.ModalViewRequest{}, okr.Errorf(okr.EINVALID, "You're not in a team yet. Create one with `/okr team create NAME` in your team's channel, or ask a lead to add you.")
	}
	q := b.currentQuarter()
	parents, err := b.alignmentCandidates(ctx, teams, q)
	if err != nil {
		return slack.ModalViewRequest{}, err
	}
	return newObjectiveModal(meta, teams, parents, userID, q), nil
}

// alignmentCandidates returns the objectives a new one may align to: those
// of the teams and their parent teams, this quarter and this year.
func (b *Bot) alignmentCandidates(ctx context.Context, teams []okr.Team, q okr.Period) ([]teamObjectives, error) {
	all := teams
	for _, t := range teams {
		if t.ParentID != nil {
			if p, err := b.store.Team(ctx, *t.ParentID); err == nil {
				all = withTeam(all, *p)
			}
		}
	}
	labels := []string{q.Label(), okr.YearOf(q.Start, b.cfg.FiscalYearStart).Label()}
	ids := make([]int64, len(all))
	for i, t := range all {
		ids[i] = t.ID
	}
	objs, err := b.store.ActiveObjectives(ctx, ids, labels)
	if err != nil {
		return nil, err
	}
	groups := make([]teamObjectives, len(all))
	index := map[int64]int{}
	for i, t := range all {
		groups[i] = teamObjectives{Team: t, Period: q}
		index[t.ID] = i
	}
	for _, o := range objs {
		g := &groups[index[o.TeamID]]
		g.Objectives = append(g.Objectives, o)
	}
	return groups, nil
}

// withTeam adds t to teams unless it is there already.
func withTeam(teams []okr.Team, t okr.Team) []okr.Team {
	for _, have := range teams {
		if have.ID == t.ID {
			return teams
		}
	}
	return append([]okr.Team{t}, teams...)
}

// openView opens a modal, turning Slack's trigger errors into advice.
func (b *Bot) openView(ctx context.Context, triggerID string, v slack.ModalViewRequest) error {
	_, err := b.api.OpenViewContext(ctx, triggerID, v)
	if err == nil {
		return nil
	}
	switch err.Error() {
	case "expired_trigger_id", "exchanged_trigger_id", "invalid_trigger_id":
		return okr.Errorf(okr.ECONFLICT, "Slack took too long to open the form. Please run the command again.")
	}
	return fmt.Errorf("bot: open view %s: %w", v.CallbackID, err)
}

// submitNewObjective validates and saves the new-objective modal.
func (b *Bot) submitNewObjective(ctx context.Context, log *slog.Logger, cb slack.InteractionCallback) (any, func(context.Context)) {
	f := newForm(cb.View)
	me := cb.User.ID
	errs := fieldErrors{}

	o := &okr.Objective{
		Title:       f.text(fieldTitle),
		Description: f.text(fieldDescription),
		OwnerID:     f.user(fieldOwner),
		Kind:        okr.ObjectiveKind(f.selected(fieldKind)),
		Status:      okr.Active,
		CreatedBy:   me,
	}
	team, ownerRole, err := b.teamFromForm(ctx, f.selected(fieldTeam), me, o.OwnerID)
	if err != nil {
		return b.formFailure(log, err, fieldTeam)
	}
	o.TeamID = team.ID

	period, err := okr.ParsePeriod(f.text(fieldPeriod), b.cfg.FiscalYearStart, b.cfg.Location)
	if err != nil {
		errs.add(fieldPeriod, okr.ErrorMessage(err))
	} else if !period.End.After(b.now()) {
		errs.add(fieldPeriod, fmt.Sprintf("%s ended on %s; pick the current period or a later one.", period.Label(), period.End.AddDate(0, 0, -1).Format("Jan 2, 2006")))
	}
	o.Period = period.Label()

	if err := o.Validate(); err != nil {
		errs.addErr(err, "", fieldTitle)
	}
	if o.OwnerID != "" {
		if msg := notMemberProblem(team, o.OwnerID, ownerRole); msg != "" {
			errs.add(fieldOwner, msg)
		}
	}
	if p := f.selected(fieldParent); p != "" {
		if msg := b.parentProblem(ctx, p); msg != "" {
			errs.add(fieldParent, msg)
		}
	}
	for i := 1; i <= okr.MaxKeyResults; i++ {
		field := func(name string) string { return krField(i, name) }
		if kr, ok := keyResultFromForm(f, field, o.OwnerID, errs); ok {
			o.KeyResults = append(o.KeyResults, kr)
		}
	}
	if len(o.KeyResults) == 0 {
		errs.add(krField(1, fieldTitle), "Add at least one key result: how will you know the objective is achieved?")
	}
	if len(errs) > 0 {
		return slack.NewErrorsViewSubmissionResponse(errs), nil
	}
	if pid := f.selected(fieldParent); pid != "" {
		id, _ := strconv.ParseInt(pid, 10, 64)
		o.ParentID = &id
	}
	if err := b.store.CreateObjective(ctx, o, period); err != nil {
		return b.formFailure(log, err, fieldTitle)
	}
	log.Info("objective created", slog.Int64("objective_id", o.ID), slog.Int64("team_id", o.TeamID))
	meta := parseMetadata(cb.View.PrivateMetadata)
	return slack.NewClearViewSubmissionResponse(), func(ctx context.Context) {
		b.confirm(ctx, log, meta.ChannelID, me, fmt.Sprintf(
			"✅ Created *%s* for *%s* (%s, %s) with %d key result%s. See it with `/okr list`.",
			escape(o.Title), escape(team.Name), o.Period, o.Kind, len(o.KeyResults), plural(len(o.KeyResults))))
		b.refreshHome(ctx, log, me, false)
	}
}

// teamFromForm returns the chosen team if the person may create OKRs in
// it, and the role in it of the owner the form names ("" when there is
// none or they are not a member): one query for both.
func (b *Bot) teamFromForm(ctx context.Context, value, userID, owner string) (*okr.Team, okr.Role, error) {
	id, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return nil, "", okr.FieldErrorf(fieldTeam, "Pick a team.")
	}
	team, roles, err := b.store.TeamRoles(ctx, id, []string{userID, owner})
	if okr.ErrorCode(err) == okr.ENOTFOUND {
		return nil, "", okr.FieldErrorf(fieldTeam, "That team no longer exists.")
	} else if err != nil {
		return nil, "", err
	}
	if roles[0] == "" && !b.actor(ctx, userID).Admin {
		return nil, "", okr.FieldErrorf(fieldTeam, "You're not in %s. %s", team.Name, b.leadsLine(ctx, team))
	}
	return team, roles[1], nil
}

// ownerProblem says why a person cannot own OKRs in a team, or "".
func (b *Bot) ownerProblem(ctx context.Context, team *okr.Team, owner string) (string, error) {
	role, err := b.store.MemberRole(ctx, team.ID, owner)
	if err != nil {
		return "", err
	}
	return notMemberProblem(team, owner, role), nil
}

// notMemberProblem says why a person with a role in a team cannot own OKRs
// in it, or "".
func notMemberProblem(team *okr.Team, owner string, role okr.Role) string {
	if role == "" {
		return fmt.Sprintf("<@%s> isn't in %s. A lead can add them with /okr team add.", owner, team.Name)
	}
	return ""
}

// parentProblem says why an objective cannot be a parent, or "".
func (b *Bot) parentProblem(ctx context.Context, value string) string {
	id, err := strconv.ParseInt(value, 10, 64)
	if err != nil {
		return "Pick an objective from the list."
	}
	p, err := b.store.Objective(ctx, id)
	if err != nil {
		return "That objective no longer exists."
	}
	if p.Status != okr.Active {
		return "That objective is closed; pick an active one."
	}
	return ""
}

// formFailure acks a submission that could not be checked or saved: a
// domain error inline on its field (or fallback), anything else as a
// generic inline error, so nothing is lost silently and the modal stays open.
func (b *Bot) formFailure(log *slog.Logger, err error, fallback string) (any, func(context.Context)) {
	field := fallback
	if de, ok := err.(*okr.Error); ok && de.Field != "" {
		field = de.Field
	}
	return slack.NewErrorsViewSubmissionResponse(map[string]string{field: b.userMessage(log, err)}), nil
}

// confirm tells a person, privately, that something they did worked: in the
// channel they started from, or by DM.
func (b *Bot) confirm(ctx context.Context, log *slog.Logger, channelID, userID, text string) {
	if channelID != "" && channelID[0] != 'D' {
		if _, err := b.api.PostEphemeralContext(ctx, channelID, userID, slack.MsgOptionText(text, false)); err == nil {
			return
		}
	}
	b.dm(ctx, log, userID, text)
}

// cmdAddKeyResult opens the add-key-result modal.
func (b *Bot) cmdAddKeyResult(ctx context.Context, in commandInput) (*reply, error) {
	me := in.Slash.UserID
	teams, err := b.store.TeamsByMember(ctx, me)
	if err != nil {
		return nil, err
	}
	q := b.currentQuarter()
	groups, err := b.alignmentCandidates(ctx, teams, q)
	if err != nil {
		return nil, err
	}
	// Only the teams' own objectives, not their parents'.
	mine := groups[:0]
	for _, g := range groups {
		if len(g.Objectives) > 0 && containsTeam(teams, g.Team.ID) {
			mine = append(mine, g)
		}
	}
	if len(mine) == 0 {
		return nil, okr.Errorf(okr.ENOTFOUND, "Your teams have no open objectives in %s. Create one with `/okr new`.", q.Label())
	}
	return nil, b.openView(ctx, in.Slash.TriggerID, addKeyResultModal(privateMetadata{ChannelID: in.Slash.ChannelID}, mine, me))
}

func containsTeam(teams []okr.Team, id int64) bool {
	for _, t := range teams {
		if t.ID == id {
			return true
		}
	}
	return false
}

// submitAddKeyResult validates and saves the add-key-result modal.
func (b *Bot) submitAddKeyResult(ctx context.Context, log *slog.Logger, cb slack.InteractionCallback) (any, func(context.Context)) {
	f := newForm(cb.View)
	me := cb.User.ID
	id, err := strconv.ParseInt(f.selected(fieldObjective), 10, 64)
	if err != nil {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{fieldObjective: "Pick an objective."}), nil
	}
	o, err := b.store.Objective(ctx, id)
	if okr.ErrorCode(err) == okr.ENOTFOUND {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{fieldObjective: "That objective no longer exists."}), nil
	} else if err != nil {
		return b.formFailure(log, err, fieldObjective)
	}
	team, err := b.store.Team(ctx, o.TeamID)
	if err != nil {
		return b.formFailure(log, err, fieldObjective)
	}
	if o.OwnerID != me {
		role, actor, err := b.roleIn(ctx, team.ID, me)
		if err != nil {
			return b.formFailure(log, err, fieldObjective)
		}
		if !actor.CanLead(role) {
			return slack.NewErrorsViewSubmissionResponse(map[string]string{fieldObjective: fmt.Sprintf(
				"Only the objective's owner or a lead of %s can add key results to it.", team.Name)}), nil
		}
	}
	if o.Status != okr.Active {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{fieldObjective: "That objective is closed."}), nil
	}
	errs := fieldErrors{}
	owner := f.user(fieldOwner)
	if owner == "" {
		errs.add(fieldOwner, "Pick an owner.")
	} else if msg, err := b.ownerProblem(ctx, team, owner); err != nil {
		return b.formFailure(log, err, fieldOwner)
	} else if msg != "" {
		errs.add(fieldOwner, msg)
	}
	kr, ok := keyResultFromForm(f, func(name string) string { return name }, owner, errs)
	if !ok {
		errs.add(fieldTitle, "Give the key result a title.")
	}
	if len(errs) > 0 {
		return slack.NewErrorsViewSubmissionResponse(errs), nil
	}
	kr.ObjectiveID = o.ID
	if err := b.store.CreateKeyResult(ctx, &kr); err != nil {
		return b.formFailure(log, err, fieldTitle)
	}
	log.Info("key result created", slog.Int64("key_result_id", kr.ID), slog.Int64("objective_id", o.ID))
	meta := parseMetadata(cb.View.PrivateMetadata)
	return slack.NewClearViewSubmissionResponse(), func(ctx context.Context) {
		b.confirm(ctx, log, meta.ChannelID, me, fmt.Sprintf("✅ Added *%s* to *%s*.", escape(kr.Title), escape(o.Title)))
		b.refreshHome(ctx, log, me, false)
	}
}

func plural(n int) string {
	if n == 1 {
		return ""
	}
	return "s"
}
