package bot

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/slack-go/slack"

	"github.com/okrbot/okrbot/okr"
)

// Block ids of modal inputs; each input's action id is the same as its block id.
const (
	fieldTeam        = "team"
	fieldTitle       = "title"
	fieldDescription = "description"
	fieldOwner       = "owner"
	fieldPeriod      = "period"
	fieldKind        = "kind"
	fieldParent      = "parent"
	fieldObjective   = "objective"
	fieldStart       = "start"
	fieldTarget      = "target"
	fieldUnit        = "unit"
)

// krField names the input of key result i (1-based) of the new-objective modal.
func krField(i int, name string) string { return fmt.Sprintf("kr%d_%s", i, name) }

// form reads a submitted view's state.
type form struct {
	values map[string]map[string]slack.BlockAction
}

func newForm(v slack.View) form {
	if v.State == nil {
		return form{}
	}
	return form{values: v.State.Values}
}

func (f form) action(id string) slack.BlockAction {
	return f.values[id][id]
}

// text returns a text input's value, trimmed.
func (f form) text(id string) string { return strings.TrimSpace(f.action(id).Value) }

// selected returns a select's or radio group's chosen value.
func (f form) selected(id string) string { return f.action(id).SelectedOption.Value }

// user returns a users_select's chosen user.
func (f form) user(id string) string { return f.action(id).SelectedUser }

// fieldErrors collects inline errors by input block id.
type fieldErrors map[string]string

// add records the first error for a field.
func (e fieldErrors) add(field, message string) {
	if _, ok := e[field]; !ok {
		e[field] = message
	}
}

// addErr records a domain error under the field it names, or under fallback.
func (e fieldErrors) addErr(err error, prefix, fallback string) {
	field := fallback
	if de, ok := err.(*okr.Error); ok && de.Field != "" {
		field = prefix + de.Field
	}
	e.add(field, okr.ErrorMessage(err))
}

func textInput(id, label, placeholder, initial string, maxLen int, multiline, optional bool) *slack.InputBlock {
	el := slack.NewPlainTextInputBlockElement(plainOrNil(placeholder), id)
	el.InitialValue = initial
	el.MaxLength = maxLen
	el.Multiline = multiline
	b := slack.NewInputBlock(id, plain(label), nil, el)
	b.Optional = optional
	return b
}

func plainOrNil(s string) *slack.TextBlockObject {
	if s == "" {
		return nil
	}
	return plain(s)
}

func withHint(b *slack.InputBlock, hint string) *slack.InputBlock {
	b.Hint = plain(hint)
	return b
}

func option(value, text string) *slack.OptionBlockObject {
	return slack.NewOptionBlockObject(value, plain(truncate(text, maxOptionText)), nil)
}

func selectInput(id, label, placeholder string, options []*slack.OptionBlockObject, initial string, optional bool) *slack.InputBlock {
	if len(options) > maxOptions {
		options = options[:maxOptions]
	}
	el := slack.NewOptionsSelectBlockElement(slack.OptTypeStatic, plain(placeholder), id, options...)
	for _, o := range options {
		if o.Value == initial {
			el.InitialOption = o
		}
	}
	b := slack.NewInputBlock(id, plain(label), nil, el)
	b.Optional = optional
	return b
}

func userInput(id, label, initial string) *slack.InputBlock {
	el := slack.NewOptionsSelectBlockElement(slack.OptTypeUser, plain("Pick a person"), id)
	el.InitialUser = initial
	return slack.NewInputBlock(id, plain(label), nil, el)
}

func modal(callbackID, title, submit string, meta privateMetadata, blocks []slack.Block) slack.ModalViewRequest {
	return slack.ModalViewRequest{
		Type:            slack.VTModal,
		CallbackID:      callbackID,
		Title:           plain(truncate(title, 24)),
		Submit:          plain(submit),
		Close:           plain("Cancel"),
		PrivateMetadata: meta.String(),
		Blocks:          slack.Blocks{BlockSet: blocks},
	}
}

// teamOptions lists teams for a select.
func teamOptions(teams []okr.Team) []*slack.OptionBlockObject {
	opts := make([]*slack.OptionBlockObject, len(teams))
	for i, t := range teams {
		opts[i] = option(strconv.FormatInt(t.ID, 10), t.Name)
	}
	return opts
}

// objectiveOptions lists objectives for a select, with their team.
func objectiveOptions(groups []teamObjectives) []*slack.OptionBlockObject {
	var opts []*slack.OptionBlockObject
	for _, g := range groups {
		for _, o := range g.Objectives {
			opts = append(opts, option(strconv.FormatInt(o.ID, 10), fmt.Sprintf("%s · %s", g.Team.Name, o.Title)))
		}
	}
	return opts
}

// newObjectiveModal is the form for an objective and its first key results:
// meta.KRSlots of them (at least one), and a button that adds one more, up
// to okr.MaxKeyResults. A short form opens and is submitted faster than
// one with every slot there at once.
func newObjectiveModal(meta privateMetadata, teams []okr.Team, parents []teamObjectives, me string, period okr.Period) slack.ModalViewRequest {
	meta.KRSlots = min(max(meta.KRSlots, 1), okr.MaxKeyResults)
	initialTeam := ""
	if meta.TeamID != 0 {
		initialTeam = strconv.FormatInt(meta.TeamID, 10)
	} else if len(teams) > 0 {
		initialTeam = strconv.FormatInt(teams[0].ID, 10)
	}
	kinds := []*slack.OptionBlockObject{
		slack.NewOptionBlockObject(string(okr.Committed), plain("Committed"), plain("Met only when fully achieved (1.0)")),
		slack.NewOptionBlockObject(string(okr.Aspirational), plain("Aspirational"), plain("A success at 0.7 or more")),
	}
	kind := slack.NewRadioButtonsBlockElement(fieldKind, kinds...)
	kind.InitialOption = kinds[0]

	blocks := []slack.Block{
		selectInput(fieldTeam, "Team", "Pick a team", teamOptions(teams), initialTeam, false),
		textInput(fieldTitle, "Objective", "e.g. Delight customers with fast support", "", okr.MaxTitleLen, false, false),
		textInput(fieldDescription, "Why it matters", "", "", okr.MaxDescriptionLen, true, true),
		userInput(fieldOwner, "Owner", me),
		withHint(textInput(fieldPeriod, "Period", "2027-Q1", period.Label(), 10, false, false),
			"A quarter like "+period.Label()+" or a year like "+strconv.Itoa(period.FiscalYear)+"."),
		slack.NewInputBlock(fieldKind, plain("Kind"), nil, kind),
	}
	if opts := objectiveOptions(parents); len(opts) > 0 {
		blocks = append(blocks, withHint(selectInput(fieldParent, "Aligned to", "Pick a parent objective", opts, "", true),
			"An objective of this team or a parent team that this one serves."))
	}
	for i := 1; i <= meta.KRSlots; i++ {
		label := fmt.Sprintf("Key result %d", i)
		blocks = append(blocks,
			slack.NewDividerBlock(),
			textInput(krField(i, fieldTitle), label, "e.g. Reduce first response time", "", okr.MaxTitleLen, false, i > 1),
			textInput(krField(i, fieldStart), "Start", "e.g. 12", "", 30, false, true),
			withHint(textInput(krField(i, fieldTarget), "Target", "e.g. 4", "", 30, false, true),
				"Leave start and target empty for a done / not done milestone."),
			textInput(krField(i, fieldUnit), "Unit", "e.g. h, %, $, tickets", "", okr.MaxUnitLen, false, true),
		)
	}
	if meta.KRSlots < okr.MaxKeyResults {
		add := slack.NewButtonBlockElement(actionObjectiveAddKR, "", plain("➕ Add a key result"))
		blocks = append(blocks, slack.NewActionBlock(actionObjectiveAddKR, add))
	}
	return modal(viewNewObjective, "New objective", "Create", meta, blocks)
}

// addKeyResultModal is the form for one more key result.
func addKeyResultModal(meta privateMetadata, objectives []teamObjectives, me string) slack.ModalViewRequest {
	blocks := []slack.Block{
		selectInput(fieldObjective, "Objective", "Pick an objective", objectiveOptions(objectives), "", false),
		textInput(fieldTitle, "Key result", "e.g. Reduce first response time", "", okr.MaxTitleLen, false, false),
		userInput(fieldOwner, "Owner", me),
		textInput(fieldStart, "Start", "e.g. 12", "", 30, false, true),
		withHint(textInput(fieldTarget, "Target", "e.g. 4", "", 30, false, true),
			"Leave start and target empty for a done / not done milestone."),
		textInput(fieldUnit, "Unit", "e.g. h, %, $, tickets", "", okr.MaxUnitLen, false, true),
	}
	return modal(viewAddKeyResult, "Add a key result", "Add", meta, blocks)
}

// keyResultFromForm reads one key result's inputs, named by field(name),
// recording what is wrong in errs. It reports false when the inputs are all
// empty (an unused optional slot).
func keyResultFromForm(f form, field func(string) string, owner string, errs fieldErrors) (okr.KeyResult, bool) {
	title, start, target, unit := f.text(field(fieldTitle)), f.text(field(fieldStart)), f.text(field(fieldTarget)), f.text(field(fieldUnit))
	if title == "" && start == "" && target == "" && unit == "" {
		return okr.KeyResult{}, false
	}
	kr := okr.KeyResult{Title: title, OwnerID: owner, Unit: unit, Kind: okr.Metric}
	switch {
	case start == "" && target == "":
		kr.Kind = okr.Milestone
	case start == "":
		errs.add(field(fieldStart), "Give a start too, or leave both empty for a done / not done milestone.")
	case target == "":
		errs.add(field(fieldTarget), "Give a target too, or leave both empty for a done / not done milestone.")
	}
	if kr.Kind == okr.Metric && start != "" && target != "" {
		var err error
		if kr.Start, err = okr.ParseNumber(start); err != nil {
			errs.add(field(fieldStart), okr.ErrorMessage(err))
		}
		if kr.Target, err = okr.ParseNumber(target); err != nil {
			errs.add(field(fieldTarget), okr.ErrorMessage(err))
		}
		kr.Current = kr.Start
		if kr.Unit == "" && strings.HasSuffix(start, "%") && strings.HasSuffix(target, "%") {
			kr.Unit = "%"
		}
	}
	if _, bad := errs[field(fieldStart)]; !bad {
		if _, bad := errs[field(fieldTarget)]; !bad {
			if err := kr.Validate(); err != nil {
				errs.addErr(err, "", field(fieldTitle))
				// Validate names "title", "unit", "target": map them onto this slot.
				if de, ok := err.(*okr.Error); ok && de.Field != "" {
					delete(errs, de.Field)
					errs.add(field(de.Field), de.Message)
				}
			}
		}
	}
	return kr, true
}
