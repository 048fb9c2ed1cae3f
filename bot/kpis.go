package bot

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/okrbot/okrbot/okr"
)

// Inputs of the KPI modal (fieldTeam, fieldOwner and fieldUnit are shared).
const (
	fieldKPIName    = "name"
	fieldDirection  = "direction"
	fieldWarning    = "warning"
	fieldCritical   = "critical"
	fieldCadence    = "cadence"
	fieldDataSource = "data_source"
	fieldKeyResult  = "key_result"
)

// Limits of KPI text.
const (
	maxDataSourceLen = 300
	maxNoteLen       = 500
)

// kpiMeta is what a KPI modal remembers.
type kpiMeta struct {
	ChannelID string `json:"c,omitempty"`
	TeamID    int64  `json:"t,omitempty"`
	KPIID     int64  `json:"k,omitempty"` // the KPI being edited
}

// kpiForm is what the KPI modal shows: a new KPI (teams to pick from) or
// one being edited (its team fixed).
type kpiForm struct {
	meta  kpiMeta
	teams []okr.Team // new: the teams to pick from
	team  *okr.Team  // edit: the KPI's team
	kpi   *okr.KPI   // edit: the KPI
	me    string
	krs   []*slack.OptionBlockObject
	// linked is the key result the KPI measures now, if any.
	linked string
}

// kpiModal builds the form to define or change a KPI.
func kpiModal(f kpiForm) slack.ModalViewRequest {
	k := okr.KPI{OwnerID: f.me, Direction: okr.HigherIsBetter, Cadence: okr.Weekly}
	warning, critical := "", ""
	if f.kpi != nil {
		k = *f.kpi
		warning, critical = okr.FormatNumber(k.Warning), okr.FormatNumber(k.Critical)
	}
	directions := []*slack.OptionBlockObject{
		slack.NewOptionBlockObject(string(okr.HigherIsBetter), plain("Higher is better"), plain("e.g. on-time delivery, uptime")),
		slack.NewOptionBlockObject(string(okr.LowerIsBetter), plain("Lower is better"), plain("e.g. response time, churn")),
	}
	direction := slack.NewRadioButtonsBlockElement(fieldDirection, directions...)
	for _, o := range directions {
		if o.Value == string(k.Direction) {
			direction.InitialOption = o
		}
	}
	cadences := []*slack.OptionBlockObject{
		option(string(okr.Daily), "Daily"), option(string(okr.Weekly), "Weekly"), option(string(okr.Monthly), "Monthly"),
	}

	var blocks []slack.Block
	if f.team != nil {
		blocks = append(blocks, contextBlock(fmt.Sprintf("A KPI of *%s*.", escape(f.team.Name))))
	} else {
		initial := ""
		if f.meta.TeamID != 0 {
			initial = strconv.FormatInt(f.meta.TeamID, 10)
		} else if len(f.teams) > 0 {
			initial = strconv.FormatInt(f.teams[0].ID, 10)
		}
		blocks = append(blocks, selectInput(fieldTeam, "Team", "Pick a team", teamOptions(f.teams), initial, false))
	}
	blocks = append(blocks,
		withHint(textInput(fieldKPIName, "Name", "e.g. on-time-delivery", k.Name, okr.MaxKPINameLen, false, false),
			"One word, no spaces: you record readings with /okr kpi record NAME VALUE."),
		userInput(fieldOwner, "Owner", k.OwnerID),
		textInput(fieldUnit, "Unit", "e.g. %, h, $, tickets", k.Unit, okr.MaxUnitLen, false, true),
		slack.NewInputBlock(fieldDirection, plain("Direction"), nil, direction),
		withHint(textInput(fieldWarning, "Warning threshold", "e.g. 95%", warning, 30, false, false),
			"Past this value the KPI turns yellow."),
		withHint(textInput(fieldCritical, "Critical threshold", "e.g. 90%", critical, 30, false, false),
			"Past this value the KPI turns red."),
		selectInput(fieldCadence, "Cadence", "How often is it read?", cadences, string(k.Cadence), false),
		textInput(fieldDataSource, "Data source", "Where the number comes from, e.g. the shipping dashboard", k.DataSource, maxDataSourceLen, false, true),
	)
	if len(f.krs) > 0 {
		blocks = append(blocks, withHint(selectInput(fieldKeyResult, "Key result it measures", "Pick a key result", f.krs, f.linked, true),
			"The key result's value follows the KPI's readings. The list shows the first team's key results this quarter."))
	}
	callback, title, submit := viewKPINew, "New KPI", "Create"
	if f.kpi != nil {
		callback, title, submit = viewKPIEdit, "Edit KPI", "Save"
	}
	v := modal(callback, title, submit, privateMetadata{}, blocks)
	js, _ := json.Marshal(f.meta)
	v.PrivateMetadata = string(js)
	return v
}

// teamKeyResults returns the metric key results of a team's active
// objectives this quarter, by id, with their select options.
func (b *Bot) teamKeyResults(ctx context.Context, teamID int64) (map[int64]okr.KeyResult, []*slack.OptionBlockObject, error) {
	objs, err := b.store.ObjectivesByTeam(ctx, teamID, b.currentQuarter().Label())
	if err != nil {
		return nil, nil, err
	}
	krs := map[int64]okr.KeyResult{}
	var opts []*slack.OptionBlockObject
	for _, o := range objs {
		if o.Status != okr.Active {
			continue
		}
		for _, kr := range o.KeyResults {
			if kr.Kind != okr.Metric {
				continue
			}
			krs[kr.ID] = kr
			opts = append(opts, option(strconv.FormatInt(kr.ID, 10), o.Title+" · "+kr.Title))
		}
	}
	return krs, opts, nil
}

// linkedKeyResult returns the id of the key result following a KPI, as a
// select value ("" when none).
func linkedKeyResult(krs map[int64]okr.KeyResult, kpiID int64) string {
	for id, kr := range krs {
		if kr.KPIID != nil && *kr.KPIID == kpiID {
			return strconv.FormatInt(id, 10)
		}
	}
	return ""
}

// cmdKPINew opens the modal to define a KPI.
func (b *Bot) cmdKPINew(ctx context.Context, in commandInput) (*reply, error) {
	me := in.Slash.UserID
	teams, err := b.store.TeamsByMember(ctx, me)
	if err != nil {
		return nil, err
	}
	meta := kpiMeta{ChannelID: in.Slash.ChannelID}
	if t, err := b.store.TeamByChannel(ctx, in.Slash.ChannelID); err == nil {
		if ok, err := b.canRead(ctx, t, me); err == nil && ok {
			meta.TeamID = t.ID
			teams = withTeam(teams, *t)
		}
	}
	if len(teams) == 0 {
		return nil, okr.Errorf(okr.EINVALID, "You're not in a team yet. Create one with `/okr team create NAME` in your team's channel, or ask a lead to add you.")
	}
	first := teams[0].ID
	if meta.TeamID != 0 {
		first = meta.TeamID
	}
	_, opts, err := b.teamKeyResults(ctx, first)
	if err != nil {
		return nil, err
	}
	return nil, b.openView(ctx, in.Slash.TriggerID, kpiModal(kpiForm{meta: meta, teams: teams, me: me, krs: opts}))
}

// kpiToManage finds the KPI a command names, with its team, if the person
// may manage it (doing says what, for a refusal).
func (b *Bot) kpiToManage(ctx context.Context, in commandInput, doing string) (*okr.KPI, *okr.Team, error) {
	k, err := b.findKPI(ctx, in.Slash.UserID, in.Slash.ChannelID, in.Cmd.Args[0])
	if err != nil {
		return nil, nil, err
	}
	team, err := b.store.Team(ctx, k.TeamID)
	if err != nil {
		return nil, nil, err
	}
	if err := b.requireKPIManager(ctx, k, team, in.Slash.UserID, doing); err != nil {
		return nil, nil, err
	}
	return k, team, nil
}

// cmdKPIEdit opens a KPI's modal, prefilled, for its owner or a lead.
func (b *Bot) cmdKPIEdit(ctx context.Context, in commandInput) (*reply, error) {
	me := in.Slash.UserID
	k, team, err := b.kpiToManage(ctx, in, "change")
	if err != nil {
		return nil, err
	}
	krs, opts, err := b.teamKeyResults(ctx, team.ID)
	if err != nil {
		return nil, err
	}
	meta := kpiMeta{ChannelID: in.Slash.ChannelID, TeamID: team.ID, KPIID: k.ID}
	return nil, b.openView(ctx, in.Slash.TriggerID, kpiModal(kpiForm{
		meta: meta, team: team, kpi: k, me: me, krs: opts, linked: linkedKeyResult(krs, k.ID),
	}))
}

// cmdKPIArchive archives a KPI, for its owner or a lead.
func (b *Bot) cmdKPIArchive(ctx context.Context, in commandInput) (*reply, error) {
	k, team, err := b.kpiToManage(ctx, in, "archive")
	if err != nil {
		return nil, err
	}
	if err := b.store.ArchiveKPI(ctx, k.ID, b.cfg.Now()); err != nil {
		return nil, err
	}
	in.Log.Info("KPI archived", slog.Int64("kpi_id", k.ID))
	return &reply{Text: fmt.Sprintf("🗄️ Archived the KPI *%s* of *%s*: it is no longer asked for at check-ins and raises no alerts. Its readings are kept.",
		escape(k.Name), escape(team.Name))}, nil
}

// submitKPI validates and saves the KPI modal, new or edited.
func (b *Bot) submitKPI(ctx context.Context, log *slog.Logger, cb slack.InteractionCallback) (any, func(context.Context)) {
	var meta kpiMeta
	_ = json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta)
	editing := cb.View.CallbackID == viewKPIEdit
	f := newForm(cb.View)
	me := cb.User.ID
	errs := fieldErrors{}

	var team *okr.Team
	var ownerRole okr.Role
	var old *okr.KPI
	var err error
	owner := f.user(fieldOwner)
	if editing {
		old, err = b.store.KPI(ctx, meta.KPIID)
		if okr.ErrorCode(err) == okr.ENOTFOUND || (err == nil && old.ArchivedAt != nil) {
			return closedModal("Edit KPI", "This KPI no longer exists or was archived; nothing was changed."), nil
		} else if err != nil {
			return b.formFailure(log, err, fieldKPIName)
		}
		var roles []okr.Role
		if team, roles, err = b.store.TeamRoles(ctx, old.TeamID, []string{owner}); err != nil {
			return b.formFailure(log, err, fieldKPIName)
		}
		ownerRole = roles[0]
		if err := b.requireKPIManager(ctx, old, team, me, "change"); err != nil {
			return b.formFailure(log, err, fieldKPIName)
		}
	} else if team, ownerRole, err = b.teamFromForm(ctx, f.selected(fieldTeam), me, owner); err != nil {
		return b.formFailure(log, err, fieldTeam)
	}

	k := &okr.KPI{
		TeamID:     team.ID,
		Name:       f.text(fieldKPIName),
		OwnerID:    owner,
		Unit:       f.text(fieldUnit),
		Direction:  okr.Direction(f.selected(fieldDirection)),
		Cadence:    okr.Cadence(f.selected(fieldCadence)),
		DataSource: f.text(fieldDataSource),
	}
	if old != nil {
		k.ID, k.CreatedAt = old.ID, old.CreatedAt
	}
	threshold := func(field, what string) float64 {
		raw := f.text(field)
		if raw == "" {
			errs.add(field, "Give a "+what+" threshold, e.g. 95%.")
			return math.NaN()
		}
		v, err := okr.ParseNumber(raw)
		if err != nil {
			errs.add(field, okr.ErrorMessage(err))
			return math.NaN()
		}
		return v
	}
	k.Warning, k.Critical = threshold(fieldWarning, "warning"), threshold(fieldCritical, "critical")
	if k.Unit == "" && strings.HasSuffix(f.text(fieldWarning), "%") && strings.HasSuffix(f.text(fieldCritical), "%") {
		k.Unit = "%"
	}
	// Validate with stand-in thresholds when they are not numbers, so the
	// other fields are still checked and no threshold gets a second error.
	check := *k
	if math.IsNaN(k.Warning) || math.IsNaN(k.Critical) {
		check.Warning, check.Critical = 1, 0
		if check.Direction == okr.LowerIsBetter {
			check.Warning, check.Critical = 0, 1
		}
	}
	if err := check.Validate(); err != nil {
		errs.addErr(err, "", fieldKPIName)
	}
	k.Name, k.Unit = check.Name, check.Unit
	if utf8.RuneCountInString(k.DataSource) > maxDataSourceLen {
		errs.add(fieldDataSource, fmt.Sprintf("Keep it to %d characters.", maxDataSourceLen))
	}
	if k.OwnerID != "" {
		if msg := notMemberProblem(team, k.OwnerID, ownerRole); msg != "" {
			errs.add(fieldOwner, msg)
		}
	}
	krs, _, err := b.teamKeyResults(ctx, team.ID)
	if err != nil {
		return b.formFailure(log, err, fieldKPIName)
	}
	var krID int64
	if v := f.selected(fieldKeyResult); v != "" {
		id, err := strconv.ParseInt(v, 10, 64)
		if _, ok := krs[id]; err != nil || !ok {
			errs.add(fieldKeyResult, fmt.Sprintf("That key result is not one of %s's this quarter (the list shows the team first picked): pick another or none.", team.Name))
		} else {
			krID = id
		}
	}
	if len(errs) > 0 {
		return slack.NewErrorsViewSubmissionResponse(errs), nil
	}

	if editing {
		err = b.store.UpdateKPI(ctx, k)
	} else {
		err = b.store.CreateKPI(ctx, k)
	}
	if okr.ErrorCode(err) == okr.ECONFLICT {
		return slack.NewErrorsViewSubmissionResponse(map[string]string{
			fieldKPIName: fmt.Sprintf("%s already has a KPI called %s; pick another name.", team.Name, k.Name),
		}), nil
	} else if err != nil {
		return b.formFailure(log, err, fieldKPIName)
	}
	linkNote := ""
	if was := linkedKeyResult(krs, k.ID); was != strconv.FormatInt(krID, 10) {
		if wasID, _ := strconv.ParseInt(was, 10, 64); wasID != 0 {
			if err := b.store.LinkKeyResult(ctx, wasID, 0); err != nil {
				log.Error("cannot unlink a key result from a KPI", slog.String("error", err.Error()))
			}
		}
		if krID != 0 {
			if err := b.store.LinkKeyResult(ctx, krID, k.ID); err != nil {
				log.Error("cannot link a key result to a KPI", slog.String("error", err.Error()))
				linkNote = " I could not link it to the key result; please try again with `/okr kpi edit " + k.Name + "`."
			} else {
				linkNote = fmt.Sprintf(" *%s* now follows its readings.", escape(krs[krID].Title))
			}
		}
	}
	log.Info("KPI saved", slog.Int64("kpi_id", k.ID), slog.Int64("team_id", team.ID), slog.Bool("edit", editing))
	return slack.NewClearViewSubmissionResponse(), func(ctx context.Context) {
		verb := "Defined"
		if editing {
			verb = "Saved"
		}
		b.confirm(ctx, log, meta.ChannelID, me, fmt.Sprintf(
			"✅ %s the KPI *%s* for *%s*: %s; read %s, owned by <@%s>.%s Record a reading with `/okr kpi record %s VALUE`.",
			verb, escape(k.Name), escape(team.Name), bandWords(k), k.Cadence, k.OwnerID, linkNote, escape(k.Name)))
		b.refreshHome(ctx, log, me, false)
	}
}

// bandWords describes a KPI's healthy band: "🟢 at or above 95%, 🟡 below
// 95%, 🔴 below 90%".
func bandWords(k *okr.KPI) string {
	ok, bad := "at or above", "below"
	if k.Direction == okr.LowerIsBetter {
		ok, bad = "at or below", "above"
	}
	w, c := okr.FormatValue(k.Warning, k.Unit), okr.FormatValue(k.Critical, k.Unit)
	return fmt.Sprintf("🟢 %s %s, 🟡 %s %s, 🔴 %s %s", ok, w, bad, w, bad, c)
}

// healthEmoji marks a KPI's colour ("" for no reading).
func healthEmoji(c okr.Colour) string {
	switch c {
	case okr.Green:
		return "🟢"
	case okr.Yellow:
		return "🟡"
	case okr.Red:
		return "🔴"
	}
	return "⚪"
}

// healthWords says what a value means for a KPI: "🔴 red, below the
// critical 92%".
func healthWords(k *okr.KPI, v float64) string {
	side := "below"
	if k.Direction == okr.LowerIsBetter {
		side = "above"
	}
	switch c := k.Health(v); c {
	case okr.Red:
		return fmt.Sprintf("🔴 red, %s the critical %s", side, okr.FormatValue(k.Critical, k.Unit))
	case okr.Yellow:
		return fmt.Sprintf("🟡 yellow, %s the warning %s", side, okr.FormatValue(k.Warning, k.Unit))
	}
	ok := "at or above"
	if k.Direction == okr.LowerIsBetter {
		ok = "at or below"
	}
	return fmt.Sprintf("🟢 green, %s the warning %s", ok, okr.FormatValue(k.Warning, k.Unit))
}

// cmdKPIRecord records a KPI reading: /okr kpi record NAME VALUE [note].
func (b *Bot) cmdKPIRecord(ctx context.Context, in commandInput) (*reply, error) {
	me := in.Slash.UserID
	name, raw := in.Cmd.Args[0], in.Cmd.Args[1]
	note := restAfter(in.Cmd.Rest, 2)
	if n := utf8.RuneCountInString(note); n > maxNoteLen {
		return nil, okr.Errorf(okr.EINVALID, "Keep the note to %d characters (it has %d).", maxNoteLen, n)
	}
	value, err := okr.ParseNumber(raw)
	if err != nil {
		return nil, okr.Errorf(okr.EINVALID, "%s", okr.ErrorMessage(err))
	}
	k, err := b.findKPI(ctx, me, in.Slash.ChannelID, name)
	if err != nil {
		return nil, err
	}
	team, err := b.store.Team(ctx, k.TeamID)
	if err != nil {
		return nil, err
	}
	if err := b.requireKPIManager(ctx, k, team, me, "record"); err != nil {
		return nil, err
	}
	text, err := b.saveReading(ctx, in.Log, me, k, value, note)
	if err != nil {
		return nil, err
	}
	b.spawn(ctx, b.followUps, "", func() { b.refreshHome(ctx, in.Log, me, false) })
	return &reply{Text: text}, nil
}

// saveReading records a reading of a KPI by a person (who may record it),
// has any alert it raises posted, and says what it means.
func (b *Bot) saveReading(ctx context.Context, log *slog.Logger, userID string, k *okr.KPI, value float64, note string) (string, error) {
	r := &okr.Reading{KPIID: k.ID, Value: value, At: b.cfg.Now(), UserID: userID, Note: note}
	events, err := b.store.RecordReading(ctx, r)
	if err != nil {
		return "", err
	}
	log.Info("KPI reading recorded", slog.Int64("kpi_id", k.ID), slog.Int64("reading_id", r.ID), slog.Int("alert_events", len(events)))
	if len(events) > 0 && b.cfg.AlertsNow != nil {
		b.cfg.AlertsNow()
	}
	return fmt.Sprintf("Recorded %s for %s: %s.", okr.FormatValue(value, k.Unit), escape(k.Name), healthWords(k, value)), nil
}

// findKPI finds the KPI a person names among their teams' KPIs: the one
// called that, else the one whose name contains it. Several are told apart
// by the team of the channel the command came from.
func (b *Bot) findKPI(ctx context.Context, userID, channelID, name string) (*okr.KPI, error) {
	ks, err := b.store.FindKPIs(ctx, userID, name)
	if err != nil {
		return nil, err
	}
	if len(ks) == 0 {
		mine, err := b.store.KPIsOwnedBy(ctx, userID)
		if err != nil {
			return nil, err
		}
		if len(mine) == 0 {
			return nil, okr.Errorf(okr.ENOTFOUND, "No KPI called `%s` in your teams, and you own none. Define one with `/okr kpi new`.", escape(name))
		}
		var names []string
		for _, k := range mine {
			names = append(names, "`"+escape(k.Name)+"`")
		}
		return nil, okr.Errorf(okr.ENOTFOUND, "No KPI called `%s` in your teams. Yours: %s.", escape(name), strings.Join(names, ", "))
	}
	if len(ks) == 1 {
		return &ks[0], nil
	}
	exact := slices.DeleteFunc(slices.Clone(ks), func(k okr.KPI) bool { return !strings.EqualFold(k.Name, name) })
	if len(exact) == 1 {
		return &exact[0], nil
	}
	if t, err := b.store.TeamByChannel(ctx, channelID); err == nil {
		here := slices.DeleteFunc(slices.Clone(ks), func(k okr.KPI) bool { return k.TeamID != t.ID })
		if len(here) == 1 && (len(exact) == 0 || strings.EqualFold(here[0].Name, name)) {
			return &here[0], nil
		}
	}
	teams := map[int64]string{}
	var lines []string
	for _, k := range ks {
		if _, ok := teams[k.TeamID]; !ok {
			teams[k.TeamID] = "?"
			if t, err := b.store.Team(ctx, k.TeamID); err == nil {
				teams[k.TeamID] = t.Name
			}
		}
		lines = append(lines, fmt.Sprintf("`%s` (%s)", escape(k.Name), escape(teams[k.TeamID])))
	}
	return nil, okr.Errorf(okr.EINVALID, "Several KPIs match `%s`: %s. Use the exact name, or run the command in the KPI's team channel.", escape(name), strings.Join(lines, ", "))
}

// requireKPIManager refuses someone who is neither a KPI's owner nor a lead
// of its team (nor a workspace admin), naming who can.
func (b *Bot) requireKPIManager(ctx context.Context, k *okr.KPI, team *okr.Team, userID, doing string) error {
	if k.OwnerID == userID {
		return nil
	}
	role, actor, err := b.roleIn(ctx, team.ID, userID)
	if err != nil {
		return err
	}
	if actor.CanLead(role) {
		return nil
	}
	return okr.Errorf(okr.EFORBIDDEN, "Only the owner of *%s*, <@%s>, or a lead of *%s* can %s it. %s",
		escape(k.Name), k.OwnerID, escape(team.Name), doing, b.leadsLine(ctx, team))
}

// kpiLine describes a KPI on one line: its health, latest value and owner.
func kpiLine(k *okr.KPI, r *okr.Reading, teamName string) string {
	name := "*" + escape(k.Name) + "*"
	if teamName != "" {
		name += " · " + escape(teamName)
	}
	if r == nil {
		return fmt.Sprintf("⚪ %s — no reading yet · <@%s>", name, k.OwnerID)
	}
	return fmt.Sprintf("%s %s — %s on %s · <@%s>", healthEmoji(k.Health(r.Value)), name,
		okr.FormatValue(r.Value, k.Unit), r.At.Format("Jan 2"), k.OwnerID)
}

// kpiSection lists KPIs with their health in one section, within its
// limit; teams names them when the KPIs span several teams.
func kpiSection(title string, ks []okr.KPI, latest map[int64]okr.Reading, teams map[int64]string) slack.Block {
	several := false
	for _, k := range ks {
		several = several || k.TeamID != ks[0].TeamID
	}
	var b strings.Builder
	b.WriteString("*" + title + "*")
	for i := range ks {
		team := ""
		if several {
			team = teams[ks[i].TeamID]
		}
		var r *okr.Reading
		if x, ok := latest[ks[i].ID]; ok {
			r = &x
		}
		line := "\n" + kpiLine(&ks[i], r, team)
		more := fmt.Sprintf("\n…and %d more KPIs.", len(ks)-i)
		if utf8.RuneCountInString(b.String())+utf8.RuneCountInString(line)+len(more) > maxSectionText {
			b.WriteString(more)
			break
		}
		b.WriteString(line)
	}
	return section(b.String())
}

// kpiBlocks returns the blocks listing KPIs with their health (none when
// there are no KPIs).
func (b *Bot) kpiBlocks(ctx context.Context, title string, ks []okr.KPI) ([]slack.Block, error) {
	if len(ks) == 0 {
		return nil, nil
	}
	ids := make([]int64, len(ks))
	teams := map[int64]string{}
	for i, k := range ks {
		ids[i] = k.ID
		if _, ok := teams[k.TeamID]; !ok {
			if t, err := b.store.Team(ctx, k.TeamID); err == nil {
				teams[k.TeamID] = t.Name
			}
		}
	}
	latest, err := b.store.LatestReadings(ctx, ids)
	if err != nil {
		return nil, err
	}
	return []slack.Block{slack.NewDividerBlock(), kpiSection(title, ks, latest, teams)}, nil
}
