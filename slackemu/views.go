package slackemu

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// maxViewStack is how many modals a user can have stacked.
const maxViewStack = 3

// View is a modal or Home tab as the emulator stores it.
type View struct {
	ID, Hash, UserID, CallbackID, PrivateMetadata, Type string
	JSON                                                json.RawMessage // the full view object as Slack returns it
	Closed                                              bool
}

// viewRec is a stored view.
type viewRec struct {
	id, userID, hash, externalID, typ string
	obj                               map[string]any
	closed                            bool
}

func (v *viewRec) export() View {
	b, _ := json.Marshal(v.obj)
	return View{ID: v.id, Hash: v.hash, UserID: v.userID, CallbackID: str(v.obj, "callback_id"),
		PrivateMetadata: str(v.obj, "private_metadata"), Type: v.typ, JSON: b, Closed: v.closed}
}

// Values for SubmitView: values[blockID][actionID] is a string for
// plain_text_input, number_input and the like, or one of these types.
type (
	// Option selects the option with this value in a static_select or radio_buttons.
	Option struct{ Value string }
	// MultiOptions selects several options (by value) in checkboxes or multi_static_select.
	MultiOptions []string
	// UserSelect is the selected user of a users_select.
	UserSelect string
	// ConversationSelect is the selected conversation of a conversations_select
	// (or channel of a channels_select).
	ConversationSelect string
	// Date is a datepicker's selected date, "2006-01-02".
	Date string
	// MultiUsers are the selected users of a multi_users_select.
	MultiUsers []string
)

// OpenViews returns the user's open modals, bottom first.
func (s *Server) OpenViews(userID string) []View {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []View
	for _, id := range s.stacks[userID] {
		out = append(out, s.views[id].export())
	}
	return out
}

// HomeView returns the Home tab published for the user.
func (s *Server) HomeView(userID string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.homes[userID]
	if !ok {
		return View{}, false
	}
	return s.views[id].export(), true
}

// ViewByID returns any stored view, open or closed.
func (s *Server) ViewByID(viewID string) (View, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	v, ok := s.views[viewID]
	if !ok {
		return View{}, false
	}
	return v.export(), true
}

// viewParam reads, validates and normalises the "view" parameter.
func (s *Server) viewParam(r *apiRequest, wantType string) (map[string]any, error) {
	raw, ok := r.raw("view")
	if !ok {
		return nil, errCode("invalid_arguments")
	}
	return s.prepareView(raw, wantType)
}

func (s *Server) prepareView(raw json.RawMessage, wantType string) (map[string]any, error) {
	if errs := ValidateView(raw); len(errs) > 0 {
		return nil, &apiError{code: "invalid_blocks", errors: errs}
	}
	var v map[string]any
	if err := json.Unmarshal(raw, &v); err != nil {
		return nil, errCode("invalid_arguments")
	}
	if wantType != "" && str(v, "type") != wantType {
		return nil, &apiError{code: "invalid_arguments", errors: []string{fmt.Sprintf("view type must be %s [json-pointer:/view/type]", wantType)}}
	}
	fillBlockIDs(arr(v, "blocks"))
	return v, nil
}

// newViewLocked stores a new view object as Slack completes it.
func (s *Server) newViewLocked(v map[string]any, userID, rootID, previousID string) *viewRec {
	id := s.newIDLocked("V")
	rec := &viewRec{id: id, userID: userID, typ: str(v, "type"), externalID: str(v, "external_id")}
	if rootID == "" {
		rootID = id
	}
	rec.obj = s.completeViewLocked(v, id, rootID, previousID)
	rec.hash = str(rec.obj, "hash")
	s.views[id] = rec
	return rec
}

func (s *Server) completeViewLocked(v map[string]any, id, rootID, previousID string) map[string]any {
	out := map[string]any{
		"id": id, "team_id": s.opts.TeamID, "type": "modal", "private_metadata": "", "callback_id": "",
		"state": obj{"values": obj{}}, "hash": fmt.Sprintf("%d.%s", s.opts.Now().Unix(), randHex(4)),
		"clear_on_close": false, "notify_on_close": false, "close": nil, "submit": nil, "external_id": "",
		"root_view_id": rootID, "previous_view_id": nil, "app_id": s.opts.AppID, "app_installed_team_id": s.opts.TeamID,
		"bot_id": botID,
	}
	if previousID != "" {
		out["previous_view_id"] = previousID
	}
	for k, val := range v {
		switch k {
		case "id", "team_id", "state", "hash", "root_view_id", "previous_view_id", "app_id", "bot_id":
		default:
			out[k] = val
		}
	}
	return out
}

func (s *Server) viewResponse(rec *viewRec) obj {
	return obj{"view": rec.obj}
}

// triggeredModal checks a request's trigger, then its modal, and returns
// both with s.mu held (the caller unlocks): a trigger is checked before the
// view so an expired one is reported as Slack does, and again after, since
// the view's validation ran without the lock.
func (s *Server) triggeredModal(r *apiRequest) (*trigger, obj, error) {
	s.mu.Lock()
	_, err := s.useTriggerLocked(r.get("trigger_id"))
	s.mu.Unlock()
	if err != nil {
		return nil, nil, err
	}
	v, err := s.viewParam(r, "modal")
	if err != nil {
		return nil, nil, err
	}
	s.mu.Lock()
	t, err := s.useTriggerLocked(r.get("trigger_id"))
	if err != nil {
		s.mu.Unlock()
		return nil, nil, err
	}
	return t, v, nil
}

func (s *Server) viewsOpen(r *apiRequest) (obj, error) {
	t, v, err := s.triggeredModal(r)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	t.used = true
	for _, id := range s.stacks[t.userID] {
		s.closeLocked(id)
	}
	rec := s.newViewLocked(v, t.userID, "", "")
	s.stacks[t.userID] = []string{rec.id}
	s.recordViewLocked(rec, "open")
	s.notifyLocked()
	return s.viewResponse(rec), nil
}

func (s *Server) viewsPush(r *apiRequest) (obj, error) {
	t, v, err := s.triggeredModal(r)
	if err != nil {
		return nil, err
	}
	defer s.mu.Unlock()
	rec, err := s.pushLocked(t.userID, v)
	if err != nil {
		return nil, err
	}
	t.used = true
	return s.viewResponse(rec), nil
}

func (s *Server) pushLocked(userID string, v map[string]any) (*viewRec, error) {
	stack := s.stacks[userID]
	if len(stack) >= maxViewStack {
		return nil, errCode("push_limit_reached")
	}
	root, prev := "", ""
	if len(stack) > 0 {
		root, prev = stack[0], stack[len(stack)-1]
	}
	rec := s.newViewLocked(v, userID, root, prev)
	s.stacks[userID] = append(stack, rec.id)
	s.recordViewLocked(rec, "push")
	s.notifyLocked()
	return rec, nil
}

func (s *Server) viewsUpdate(r *apiRequest) (obj, error) {
	raw, ok := r.raw("view")
	if !ok {
		return nil, errCode("invalid_arguments")
	}
	var peek struct {
		Type string `json:"type"`
	}
	_ = json.Unmarshal(raw, &peek)
	v, err := s.prepareView(raw, "")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var rec *viewRec
	if id := r.get("view_id"); id != "" {
		rec = s.views[id]
	} else if ext := r.get("external_id"); ext != "" {
		for _, x := range s.views {
			if x.externalID == ext && !x.closed {
				rec = x
			}
		}
	} else {
		return nil, errCode("invalid_arguments")
	}
	if rec == nil || rec.closed {
		return nil, errCode("not_found")
	}
	if h := r.get("hash"); h != "" && h != rec.hash {
		return nil, errCode("hash_conflict")
	}
	if peek.Type != "" && peek.Type != rec.typ {
		return nil, errCode("invalid_arguments")
	}
	s.replaceViewLocked(rec, v)
	s.recordViewLocked(rec, "update")
	s.notifyLocked()
	return s.viewResponse(rec), nil
}

func (s *Server) replaceViewLocked(rec *viewRec, v map[string]any) {
	root, _ := rec.obj["root_view_id"].(string)
	prev, _ := rec.obj["previous_view_id"].(string)
	rec.obj = s.completeViewLocked(v, rec.id, root, prev)
	rec.hash = str(rec.obj, "hash")
	rec.externalID = str(rec.obj, "external_id")
}

func (s *Server) viewsPublish(r *apiRequest) (obj, error) {
	userID := r.get("user_id")
	v, err := s.viewParam(r, "home")
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if u, ok := s.users[userID]; !ok || u.IsBot {
		return nil, errCode("user_not_found")
	}
	var rec *viewRec
	if id, ok := s.homes[userID]; ok {
		rec = s.views[id]
		if h := r.get("hash"); h != "" && h != rec.hash {
			return nil, errCode("hash_conflict")
		}
		s.replaceViewLocked(rec, v)
	} else {
		rec = s.newViewLocked(v, userID, "", "")
		s.homes[userID] = rec.id
	}
	s.recordViewLocked(rec, "publish")
	s.notifyLocked()
	return s.viewResponse(rec), nil
}

// closeLocked marks a modal closed, and forgets it with
// Options.ForgetClosedViews.
func (s *Server) closeLocked(id string) {
	s.views[id].closed = true
	if s.opts.ForgetClosedViews {
		delete(s.views, id)
	}
}

// closeViewLocked closes a modal and every modal above it.
func (s *Server) closeViewLocked(userID, viewID string, all bool) {
	stack := s.stacks[userID]
	for i, id := range stack {
		if id == viewID || all {
			for _, c := range stack[i:] {
				s.closeLocked(c)
			}
			s.stacks[userID] = stack[:i]
			break
		}
	}
	if len(s.stacks[userID]) == 0 {
		delete(s.stacks, userID)
	}
	s.addEntryLocked(Entry{Time: s.opts.Now(), Where: "modal for " + s.userNameLocked(userID), Kind: "close",
		Text: "(modal closed)"})
	s.notifyLocked()
}

// openModalLocked returns the user's open modal with the ID.
func (s *Server) openModalLocked(userID, viewID string) (*viewRec, error) {
	for _, id := range s.stacks[userID] {
		if id == viewID {
			return s.views[id], nil
		}
	}
	return nil, fmt.Errorf("slackemu: view %s is not open for %s", viewID, userID)
}

// SubmitView submits the user's open modal with the given input values and
// waits for the ack, then applies its response_action like Slack: "update" and
// "push" change the stack, "errors" keeps the modal open, "clear" closes every
// modal, and an empty ack closes the submitted one.
func (s *Server) SubmitView(ctx context.Context, userID, viewID string, values map[string]map[string]any) (Ack, error) {
	s.mu.Lock()
	rec, err := s.openModalLocked(userID, viewID)
	if err != nil {
		s.mu.Unlock()
		return Ack{}, err
	}
	state, err := buildState(arr(rec.obj, "blocks"), values)
	if err != nil {
		s.mu.Unlock()
		return Ack{}, err
	}
	view := cloneJSON(rec.obj)
	view["state"] = obj{"values": state}
	payload := obj{
		"type": "view_submission", "team": s.teamObj(), "user": s.userObjLocked(userID),
		"api_app_id": s.opts.AppID, "token": "emu-verification-token", "trigger_id": s.newTriggerLocked(userID),
		"view": view, "response_urls": []obj{}, "is_enterprise_install": false, "enterprise": nil,
	}
	s.addEntryLocked(Entry{Time: s.opts.Now(), Where: "modal for " + s.userNameLocked(userID), Kind: "submit",
		Text: s.userNameLocked(userID) + " submitted " + describeValues(values)})
	s.notifyLocked()
	s.mu.Unlock()

	ack, err := s.sendRequest(ctx, "interactive", payload)
	if err != nil {
		s.recordTimeout(userID, "", err)
		return ack, err
	}
	var resp struct {
		ResponseAction string            `json:"response_action"`
		View           json.RawMessage   `json:"view"`
		Errors         map[string]string `json:"errors"`
	}
	if len(ack.Payload) > 0 {
		if err := json.Unmarshal(ack.Payload, &resp); err != nil {
			return ack, fmt.Errorf("slackemu: view_submission ack payload: %w", err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec.closed {
		return ack, nil
	}
	switch resp.ResponseAction {
	case "errors":
		inputs := inputBlockIDs(arr(rec.obj, "blocks"))
		keys := make([]string, 0, len(resp.Errors))
		for k := range resp.Errors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var lines []string
		for _, k := range keys {
			if !inputs[k] {
				return ack, fmt.Errorf("slackemu: response_action errors names %q, which is not an input block", k)
			}
			lines = append(lines, k+": "+resp.Errors[k])
		}
		s.addEntryLocked(Entry{Time: s.opts.Now(), Where: "modal for " + s.userNameLocked(userID), Kind: "errors",
			Text: strings.Join(lines, "\n")})
		s.notifyLocked()
	case "update":
		v, err := s.prepareView(resp.View, "modal")
		if err != nil {
			return ack, fmt.Errorf("slackemu: response_action update: %w", err)
		}
		s.replaceViewLocked(rec, v)
		s.recordViewLocked(rec, "update")
		s.notifyLocked()
	case "push":
		v, err := s.prepareView(resp.View, "modal")
		if err != nil {
			return ack, fmt.Errorf("slackemu: response_action push: %w", err)
		}
		if _, err := s.pushLocked(userID, v); err != nil {
			return ack, fmt.Errorf("slackemu: response_action push: %w", err)
		}
	case "clear":
		s.closeViewLocked(userID, viewID, true)
	case "":
		s.closeViewLocked(userID, viewID, false)
	default:
		return ack, fmt.Errorf("slackemu: unknown response_action %q", resp.ResponseAction)
	}
	return ack, nil
}

// CloseView closes the user's modal as if they clicked Close. If the modal has
// notify_on_close, a view_closed interaction is sent and its ack returned.
func (s *Server) CloseView(ctx context.Context, userID, viewID string) (Ack, error) {
	s.mu.Lock()
	rec, err := s.openModalLocked(userID, viewID)
	if err != nil {
		s.mu.Unlock()
		return Ack{}, err
	}
	notify, _ := rec.obj["notify_on_close"].(bool)
	clear, _ := rec.obj["clear_on_close"].(bool)
	view := cloneJSON(rec.obj)
	s.closeViewLocked(userID, viewID, clear)
	var payload obj
	if notify {
		payload = obj{"type": "view_closed", "team": s.teamObj(), "user": s.userObjLocked(userID),
			"api_app_id": s.opts.AppID, "token": "emu-verification-token", "view": view, "is_cleared": clear,
			"is_enterprise_install": false}
	}
	s.mu.Unlock()
	if payload == nil {
		return Ack{}, nil
	}
	return s.sendRequest(ctx, "interactive", payload)
}

// ClickHomeButton clicks a button in the user's published Home tab.
func (s *Server) ClickHomeButton(ctx context.Context, userID, actionID string) (Ack, error) {
	s.mu.Lock()
	id, ok := s.homes[userID]
	s.mu.Unlock()
	if !ok {
		return Ack{}, fmt.Errorf("slackemu: no home view published for %s", userID)
	}
	return s.clickView(ctx, userID, id, "", actionID, nil)
}

// ClickViewButton clicks a button in one of the user's open modals.
func (s *Server) ClickViewButton(ctx context.Context, userID, viewID, actionID string) (Ack, error) {
	return s.clickView(ctx, userID, viewID, "", actionID, nil)
}

// ClickViewBlockButton clicks the button with actionID in the block blockID
// of a modal or Home tab visible to the user: the way to tell apart buttons
// that share an action_id in different blocks (one per row of a list).
func (s *Server) ClickViewBlockButton(ctx context.Context, userID, viewID, blockID, actionID string) (Ack, error) {
	return s.clickView(ctx, userID, viewID, blockID, actionID, nil)
}

// SelectViewOption picks an option (by value) in a select of a modal or Home tab
// whose element dispatches actions (e.g. in an actions block or a section accessory).
func (s *Server) SelectViewOption(ctx context.Context, userID, viewID, actionID, value string) (Ack, error) {
	return s.clickView(ctx, userID, viewID, "", actionID, &value)
}

func (s *Server) clickView(ctx context.Context, userID, viewID, blockID, actionID string, value *string) (Ack, error) {
	s.mu.Lock()
	rec, ok := s.views[viewID]
	if !ok || rec.closed || rec.userID != userID {
		s.mu.Unlock()
		return Ack{}, fmt.Errorf("slackemu: view %s is not visible to %s", viewID, userID)
	}
	blocks, _ := json.Marshal(arr(rec.obj, "blocks"))
	action, err := s.actionFor(blocks, blockID, actionID, value)
	if err != nil {
		s.mu.Unlock()
		return Ack{}, err
	}
	payload := obj{
		"type": "block_actions", "user": s.userObjLocked(userID), "api_app_id": s.opts.AppID,
		"token": "emu-verification-token", "container": obj{"type": "view", "view_id": viewID},
		"trigger_id": s.newTriggerLocked(userID), "team": s.teamObj(), "enterprise": nil,
		"is_enterprise_install": false, "view": cloneJSON(rec.obj), "actions": []obj{action},
	}
	where := "modal for " + s.userNameLocked(userID)
	if rec.typ == "home" {
		where = "home of " + s.userNameLocked(userID)
	}
	s.addEntryLocked(Entry{Time: s.opts.Now(), Where: where, Kind: "click",
		Text: s.userNameLocked(userID) + " clicked " + actionLabel(action)})
	s.notifyLocked()
	s.mu.Unlock()
	ack, err := s.sendRequest(ctx, "interactive", payload)
	if err != nil {
		s.recordTimeout(userID, "", err)
	}
	return ack, err
}

func cloneJSON(v map[string]any) map[string]any {
	b, _ := json.Marshal(v)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func inputBlockIDs(blocks []any) map[string]bool {
	out := map[string]bool{}
	for _, b := range blocks {
		if bm, ok := b.(map[string]any); ok && str(bm, "type") == "input" {
			out[str(bm, "block_id")] = true
		}
	}
	return out
}

func describeValues(values map[string]map[string]any) string {
	var parts []string
	for bid, acts := range values {
		for aid, v := range acts {
			parts = append(parts, fmt.Sprintf("%s.%s=%v", bid, aid, v))
		}
	}
	sort.Strings(parts)
	if len(parts) == 0 {
		return "(no values)"
	}
	return strings.Join(parts, ", ")
}

// buildState builds view.state.values for the input blocks, typed like Slack.
func buildState(blocks []any, values map[string]map[string]any) (obj, error) {
	state := obj{}
	seen := map[string]bool{}
	for _, b := range blocks {
		bm, ok := b.(map[string]any)
		if !ok || str(bm, "type") != "input" {
			continue
		}
		bid := str(bm, "block_id")
		el := objAt(bm, "element")
		aid := str(el, "action_id")
		v, given := values[bid][aid]
		if given {
			seen[bid+"\x00"+aid] = true
		}
		optional, _ := bm["optional"].(bool)
		if !given && !optional {
			if initial := initialValue(el); initial != nil {
				v, given = initial, true
			} else {
				return nil, fmt.Errorf("slackemu: required input %s/%s has no value", bid, aid)
			}
		}
		entry, err := stateEntry(el, v, given)
		if err != nil {
			return nil, fmt.Errorf("slackemu: input %s/%s: %w", bid, aid, err)
		}
		state[bid] = obj{aid: entry}
	}
	for bid, acts := range values {
		for aid := range acts {
			if !seen[bid+"\x00"+aid] {
				return nil, fmt.Errorf("slackemu: the view has no input %s/%s", bid, aid)
			}
		}
	}
	return state, nil
}

// initialValue returns the value an untouched element submits, or nil.
func initialValue(el map[string]any) any {
	switch str(el, "type") {
	case "plain_text_input", "number_input", "email_text_input", "url_text_input":
		if v := str(el, "initial_value"); v != "" {
			return v
		}
	case "static_select", "radio_buttons":
		if o := objAt(el, "initial_option"); o != nil {
			return Option{Value: str(o, "value")}
		}
	case "users_select":
		if v := str(el, "initial_user"); v != "" {
			return UserSelect(v)
		}
	case "conversations_select":
		if v := str(el, "initial_conversation"); v != "" {
			return ConversationSelect(v)
		}
	case "channels_select":
		if v := str(el, "initial_channel"); v != "" {
			return ConversationSelect(v)
		}
	case "datepicker":
		if v := str(el, "initial_date"); v != "" {
			return Date(v)
		}
	}
	return nil
}

// singleSelectKey names where Slack puts a single selection in view state.
var singleSelectKey = map[string]string{
	"users_select":         "selected_user",
	"conversations_select": "selected_conversation",
	"channels_select":      "selected_channel",
	"datepicker":           "selected_date",
}

func stateEntry(el map[string]any, v any, given bool) (obj, error) {
	typ := str(el, "type")
	e := obj{"type": typ}
	asString := func() (string, error) {
		switch x := v.(type) {
		case string:
			return x, nil
		case Date:
			return string(x), nil
		case UserSelect:
			return string(x), nil
		case ConversationSelect:
			return string(x), nil
		case Option:
			return x.Value, nil
		default:
			return "", fmt.Errorf("a %s takes a string, not %T", typ, v)
		}
	}
	switch typ {
	case "plain_text_input", "number_input", "email_text_input", "url_text_input":
		if !given {
			e["value"] = nil
			return e, nil
		}
		sv, err := asString()
		if err != nil {
			return nil, err
		}
		e["value"] = sv
	case "static_select", "radio_buttons", "external_select":
		if !given {
			e["selected_option"] = nil
			return e, nil
		}
		sv, err := asString()
		if err != nil {
			return nil, err
		}
		opt := findOption(el, sv)
		if opt == nil && typ != "external_select" {
			return nil, fmt.Errorf("no option with value %q", sv)
		}
		if opt == nil {
			opt = map[string]any{"text": obj{"type": "plain_text", "text": sv}, "value": sv}
		}
		e["selected_option"] = opt
	case "checkboxes", "multi_static_select":
		var sel []any
		if given {
			vals, ok := v.(MultiOptions)
			if !ok {
				if ss, ok2 := v.([]string); ok2 {
					vals, ok = MultiOptions(ss), true
				}
			}
			if !ok {
				return nil, fmt.Errorf("a %s takes MultiOptions, not %T", typ, v)
			}
			for _, val := range vals {
				opt := findOption(el, val)
				if opt == nil {
					return nil, fmt.Errorf("no option with value %q", val)
				}
				sel = append(sel, opt)
			}
		}
		if sel == nil {
			sel = []any{}
		}
		e["selected_options"] = sel
	case "users_select", "conversations_select", "channels_select", "datepicker":
		key := singleSelectKey[typ]
		e[key] = nil
		if given {
			sv, err := asString()
			if err != nil {
				return nil, err
			}
			e[key] = sv
		}
	case "multi_users_select":
		users := []string{}
		if given {
			switch x := v.(type) {
			case MultiUsers:
				users = append(users, x...)
			case []string:
				users = append(users, x...)
			default:
				return nil, fmt.Errorf("a multi_users_select takes MultiUsers, not %T", v)
			}
		}
		e["selected_users"] = users
	case "multi_conversations_select":
		convs := []string{}
		if given {
			x, ok := v.([]string)
			if !ok {
				return nil, fmt.Errorf("a multi_conversations_select takes []string, not %T", v)
			}
			convs = append(convs, x...)
		}
		e["selected_conversations"] = convs
	default:
		if given {
			sv, err := asString()
			if err != nil {
				return nil, err
			}
			e["value"] = sv
		}
	}
	return e, nil
}

// recordViewLocked adds a view to the transcript.
func (s *Server) recordViewLocked(rec *viewRec, kind string) {
	where := "modal for " + s.userNameLocked(rec.userID)
	if rec.typ == "home" {
		where = "home of " + s.userNameLocked(rec.userID)
	}
	s.addEntryLocked(Entry{Time: s.opts.Now(), Where: where, Kind: kind,
		Text: s.humanizeLocked(renderView(rec.obj))})
}
