package slackemu

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// apiRequest is one Web API call with its parameters from the query string, a
// form body or a JSON body.
type apiRequest struct {
	method string
	token  string
	values url.Values
	json   map[string]json.RawMessage
}

// get returns a parameter as a string.
func (r *apiRequest) get(key string) string {
	if v := r.values.Get(key); v != "" {
		return v
	}
	raw, ok := r.json[key]
	if !ok {
		return ""
	}
	var str string
	if json.Unmarshal(raw, &str) == nil {
		return str
	}
	if string(raw) == "null" {
		return ""
	}
	return string(raw)
}

// raw returns a parameter as JSON: a JSON body's value as is, or a form value
// that holds JSON text.
func (r *apiRequest) raw(key string) (json.RawMessage, bool) {
	if raw, ok := r.json[key]; ok && string(raw) != "null" {
		var str string
		if json.Unmarshal(raw, &str) == nil && (strings.HasPrefix(str, "[") || strings.HasPrefix(str, "{")) {
			return json.RawMessage(str), true
		}
		return raw, true
	}
	if _, ok := r.values[key]; ok {
		return json.RawMessage(r.values.Get(key)), true
	}
	return nil, false
}

// apiError is a Web API error answer: {"ok":false,"error":code,...}.
type apiError struct {
	code   string
	errors []string
}

func (e *apiError) Error() string { return e.code }

func errCode(code string) error { return &apiError{code: code} }

// obj is a JSON object under construction.
type obj = map[string]any

type apiHandler func(s *Server, r *apiRequest) (obj, error)

var apiMethods = map[string]apiHandler{
	"api.test":                     (*Server).apiTest,
	"auth.test":                    (*Server).authTest,
	"apps.connections.open":        (*Server).appsConnectionsOpen,
	"chat.postMessage":             (*Server).chatPostMessage,
	"chat.postEphemeral":           (*Server).chatPostEphemeral,
	"chat.update":                  (*Server).chatUpdate,
	"chat.delete":                  (*Server).chatDelete,
	"conversations.open":           (*Server).conversationsOpen,
	"conversations.info":           (*Server).conversationsInfo,
	"conversations.members":        (*Server).conversationsMembers,
	"conversations.history":        (*Server).conversationsHistory,
	"users.info":                   (*Server).usersInfo,
	"users.list":                   (*Server).usersList,
	"views.open":                   (*Server).viewsOpen,
	"views.push":                   (*Server).viewsPush,
	"views.update":                 (*Server).viewsUpdate,
	"views.publish":                (*Server).viewsPublish,
	"files.getUploadURLExternal":   (*Server).filesGetUploadURLExternal,
	"files.completeUploadExternal": (*Server).filesCompleteUploadExternal,
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func writeAPIError(w http.ResponseWriter, err error) {
	var ae *apiError
	if !errors.As(err, &ae) {
		ae = &apiError{code: "internal_error"}
	}
	body := obj{"ok": false, "error": ae.code}
	if len(ae.errors) > 0 {
		msgs := make([]string, len(ae.errors))
		for i, e := range ae.errors {
			msgs[i] = "[ERROR] " + e
		}
		body["errors"] = ae.errors
		body["response_metadata"] = obj{"messages": msgs}
	}
	writeJSON(w, http.StatusOK, body)
}

func (s *Server) handleAPI(w http.ResponseWriter, hr *http.Request) {
	method := strings.TrimPrefix(hr.URL.Path, "/api/")
	req, err := parseAPIRequest(method, hr)
	if err != nil {
		writeJSON(w, http.StatusOK, obj{"ok": false, "error": "invalid_form_data"})
		return
	}

	s.mu.Lock()
	s.calls[method]++
	s.notifyLocked()
	s.mu.Unlock()

	if d := s.limits.latency(method); d > 0 {
		select {
		case <-time.After(d):
		case <-hr.Context().Done():
			return
		}
	}
	if status, ok := s.limits.injected(method); ok {
		if status == http.StatusTooManyRequests {
			s.countLimited(method)
			w.Header().Set("Retry-After", "1")
			writeJSON(w, status, obj{"ok": false, "error": "ratelimited"})
			return
		}
		writeJSON(w, status, obj{"ok": false, "error": "internal_error"})
		return
	}

	h, ok := apiMethods[method]
	if !ok {
		writeJSON(w, http.StatusOK, obj{"ok": false, "error": "unknown_method"})
		return
	}
	if err := s.checkAuth(req); err != nil {
		writeAPIError(w, err)
		return
	}
	if s.opts.RateLimits {
		if wait, limited := s.limits.allow(method, req.get("channel"), time.Now()); limited {
			s.countLimited(method)
			w.Header().Set("Retry-After", strconv.Itoa(wait))
			writeJSON(w, http.StatusTooManyRequests, obj{"ok": false, "error": "ratelimited"})
			return
		}
	}
	resp, err := h(s, req)
	if err != nil {
		writeAPIError(w, err)
		return
	}
	if resp == nil {
		resp = obj{}
	}
	resp["ok"] = true
	writeJSON(w, http.StatusOK, resp)
}

func (s *Server) countLimited(method string) {
	s.mu.Lock()
	s.limited[method]++
	s.notifyLocked()
	s.mu.Unlock()
}

func parseAPIRequest(method string, hr *http.Request) (*apiRequest, error) {
	req := &apiRequest{method: method, values: url.Values{}}
	for k, v := range hr.URL.Query() {
		req.values[k] = v
	}
	if auth := hr.Header.Get("Authorization"); strings.HasPrefix(auth, "Bearer ") {
		req.token = strings.TrimPrefix(auth, "Bearer ")
	}
	if hr.Body != nil {
		body, err := io.ReadAll(io.LimitReader(hr.Body, 10<<20))
		if err != nil {
			return nil, err
		}
		ct, _, _ := mime.ParseMediaType(hr.Header.Get("Content-Type"))
		switch {
		case ct == "application/json":
			if len(bytes.TrimSpace(body)) > 0 && string(bytes.TrimSpace(body)) != "null" {
				if err := json.Unmarshal(body, &req.json); err != nil {
					return nil, err
				}
			}
		case ct == "multipart/form-data":
			hr.Body = io.NopCloser(bytes.NewReader(body))
			if err := hr.ParseMultipartForm(10 << 20); err != nil {
				return nil, err
			}
			for k, v := range hr.MultipartForm.Value {
				req.values[k] = v
			}
		default:
			form, err := url.ParseQuery(string(body))
			if err != nil {
				return nil, err
			}
			for k, v := range form {
				req.values[k] = v
			}
		}
	}
	if req.token == "" {
		req.token = req.get("token")
	}
	return req, nil
}

func (s *Server) checkAuth(r *apiRequest) error {
	switch {
	case r.method == "api.test":
		return nil
	case r.token == "":
		return errCode("not_authed")
	case r.method == "apps.connections.open":
		if r.token == s.opts.AppToken {
			return nil
		}
		if r.token == s.opts.BotToken {
			return errCode("not_allowed_token_type")
		}
		return errCode("invalid_auth")
	case r.token == s.opts.BotToken:
		return nil
	case r.token == s.opts.AppToken:
		return errCode("not_allowed_token_type")
	default:
		return errCode("invalid_auth")
	}
}

func (s *Server) apiTest(r *apiRequest) (obj, error) { return obj{"args": r.values}, nil }

func (s *Server) authTest(*apiRequest) (obj, error) {
	return obj{
		"url":                   "https://emu.slack.com/",
		"team":                  "Emulated Workspace",
		"user":                  "okrbot",
		"team_id":               s.opts.TeamID,
		"user_id":               s.opts.BotUserID,
		"bot_id":                botID,
		"is_enterprise_install": false,
	}, nil
}

// resolveTargetLocked finds where a message to channel goes: a channel, an IM ID,
// or a user ID meaning the IM with that user. It checks the bot may post there.
func (s *Server) resolveTargetLocked(channel string) (string, error) {
	if channel == "" {
		return "", errCode("channel_not_found")
	}
	if c, ok := s.channels[channel]; ok {
		if c.IsArchived {
			return "", errCode("is_archived")
		}
		if c.IsPrivate && !contains(c.Members, s.opts.BotUserID) {
			return "", errCode("not_in_channel")
		}
		return c.ID, nil
	}
	if u, ok := s.imUsers[channel]; ok {
		if usr := s.users[u]; usr != nil && usr.Deleted {
			return "", errCode("user_disabled")
		}
		return channel, nil
	}
	if u, ok := s.users[channel]; ok {
		switch {
		case u.Deleted:
			return "", errCode("user_disabled")
		case u.IsBot:
			return "", errCode("cannot_dm_bot")
		}
		id, _ := s.openIMLocked(u.ID)
		return id, nil
	}
	return "", errCode("channel_not_found")
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// messageContent reads text and blocks from a chat.* request and validates them.
func (s *Server) messageContent(r *apiRequest) (text string, blocks json.RawMessage, hasBlocks bool, err error) {
	text = r.get("text")
	if raw, ok := r.raw("blocks"); ok && len(bytes.TrimSpace(raw)) > 0 {
		hasBlocks = true
		blocks, err = prepareBlocks(raw, limitMessageBlocks)
		if err != nil {
			return "", nil, false, err
		}
		if isEmptyArray(blocks) {
			blocks = nil
		}
		if err := s.checkSlackFiles(blocks); err != nil {
			return "", nil, false, err
		}
	}
	if len([]rune(text)) > maxMessageText {
		text = string([]rune(text)[:maxMessageText])
	}
	return text, blocks, hasBlocks, nil
}

// checkSlackFiles refuses image blocks whose slack_file names no file
// uploaded to this workspace, as Slack does.
func (s *Server) checkSlackFiles(blocks json.RawMessage) error {
	var list []map[string]any
	if len(blocks) == 0 || json.Unmarshal(blocks, &list) != nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var errs []string
	for i, b := range list {
		sf := objAt(b, "slack_file")
		if str(b, "type") != "image" || sf == nil {
			continue
		}
		if f, ok := s.files[str(sf, "id")]; !ok || !f.Completed {
			errs = append(errs, fmt.Sprintf("invalid slack_file: no uploaded file %q [json-pointer:/blocks/%d/slack_file]", str(sf, "id"), i))
		}
	}
	if len(errs) > 0 {
		return &apiError{code: "invalid_blocks", errors: errs}
	}
	return nil
}

func isEmptyArray(raw json.RawMessage) bool {
	t := string(bytes.TrimSpace(raw))
	return t == "[]" || t == "null" || t == ""
}

// messageJSON is the message object Slack returns and puts into payloads.
func (s *Server) messageJSON(m *Message) obj {
	o := obj{
		"type":   "message",
		"text":   m.Text,
		"user":   m.User,
		"ts":     m.TS,
		"team":   s.opts.TeamID,
		"bot_id": botID,
		"app_id": s.opts.AppID,
	}
	if len(m.Blocks) > 0 {
		o["blocks"] = m.Blocks
	}
	if m.ThreadTS != "" {
		o["thread_ts"] = m.ThreadTS
	}
	if m.Edited {
		o["edited"] = obj{"user": m.User, "ts": m.TS}
	}
	if len(m.Metadata) > 0 {
		o["metadata"] = m.Metadata
	}
	return o
}

// messageMetadata reads and checks the metadata parameter of chat.postMessage
// and chat.update: {"event_type":"…","event_payload":{…}}.
func messageMetadata(r *apiRequest) (json.RawMessage, bool, error) {
	raw, ok := r.raw("metadata")
	if !ok || len(bytes.TrimSpace(raw)) == 0 {
		return nil, false, nil
	}
	var md struct {
		EventType    *string         `json:"event_type"`
		EventPayload json.RawMessage `json:"event_payload"`
	}
	if err := json.Unmarshal(raw, &md); err != nil || md.EventType == nil {
		return nil, false, errCode("invalid_metadata_format")
	}
	payload := bytes.TrimSpace(md.EventPayload)
	if *md.EventType == "" || len(payload) == 0 || payload[0] != '{' {
		return nil, false, errCode("invalid_metadata_schema")
	}
	var buf bytes.Buffer
	if err := json.Compact(&buf, raw); err != nil {
		return nil, false, errCode("invalid_metadata_format")
	}
	return buf.Bytes(), true, nil
}

func (s *Server) chatPostMessage(r *apiRequest) (obj, error) {
	text, blocks, _, err := s.messageContent(r)
	if err != nil {
		return nil, err
	}
	if text == "" && len(blocks) == 0 && r.get("attachments") == "" {
		return nil, errCode("no_text")
	}
	metadata, _, err := messageMetadata(r)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, err := s.resolveTargetLocked(r.get("channel"))
	if err != nil {
		return nil, err
	}
	m := &Message{Channel: ch, TS: s.newTSLocked(), ThreadTS: r.get("thread_ts"), User: s.opts.BotUserID, Text: text, Blocks: blocks,
		Metadata: metadata}
	s.addMessageLocked(m)
	s.recordLocked(s.whereLocked(ch), "message", m)
	s.notifyLocked()
	return obj{"channel": ch, "ts": m.TS, "message": s.messageJSON(m)}, nil
}

func (s *Server) chatPostEphemeral(r *apiRequest) (obj, error) {
	text, blocks, _, err := s.messageContent(r)
	if err != nil {
		return nil, err
	}
	if text == "" && len(blocks) == 0 && r.get("attachments") == "" {
		return nil, errCode("no_text")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	userID := r.get("user")
	u, ok := s.users[userID]
	if !ok {
		return nil, errCode("user_not_found")
	}
	if u.Deleted {
		return nil, errCode("user_disabled")
	}
	ch, err := s.resolveTargetLocked(r.get("channel"))
	if err != nil {
		return nil, err
	}
	if c, ok := s.channels[ch]; ok && !contains(c.Members, userID) {
		return nil, errCode("user_not_in_channel")
	}
	if imUser, ok := s.imUsers[ch]; ok && imUser != userID {
		return nil, errCode("user_not_in_channel")
	}
	m := s.addEphemeralLocked(ch, userID, text, blocks, false)
	m.ThreadTS = r.get("thread_ts")
	return obj{"message_ts": m.TS}, nil
}

// addEphemeralLocked records an ephemeral message. s.mu must be held.
func (s *Server) addEphemeralLocked(channel, userID, text string, blocks json.RawMessage, viaResponseURL bool) *Message {
	m := &Message{Channel: channel, TS: s.newTSLocked(), User: s.opts.BotUserID, Text: text, Blocks: blocks,
		Ephemeral: true, EphemeralTo: userID, ViaResponseURL: viaResponseURL}
	s.ephemerals = append(s.ephemerals, m)
	s.ephByUser[userID] = append(s.ephByUser[userID], m)
	s.ephIndex[m.Ref()] = m
	s.recordLocked("ephemeral to "+s.userNameLocked(userID)+" in "+s.whereLocked(channel), "ephemeral", m)
	s.notifyLocked()
	return m
}

// findMessageLocked finds a channel message by channel and ts.
func (s *Server) findMessageLocked(channel, ts string) *Message {
	return s.msgIndex[MessageRef{Channel: channel, TS: ts}]
}

func (s *Server) findEphemeralLocked(channel, ts string) *Message {
	return s.ephIndex[MessageRef{Channel: channel, TS: ts}]
}

func (s *Server) chatUpdate(r *apiRequest) (obj, error) {
	text, blocks, hasBlocks, err := s.messageContent(r)
	if err != nil {
		return nil, err
	}
	metadata, hasMetadata, err := messageMetadata(r)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := r.get("channel")
	if _, ok := s.users[ch]; ok {
		ch = s.ims[ch]
	}
	if _, ok := s.channels[ch]; !ok {
		if _, ok := s.imUsers[ch]; !ok {
			return nil, errCode("channel_not_found")
		}
	}
	m := s.findMessageLocked(ch, r.get("ts"))
	if m == nil || m.Deleted {
		return nil, errCode("message_not_found")
	}
	if m.User != s.opts.BotUserID {
		return nil, errCode("cant_update_message")
	}
	if text == "" && len(blocks) == 0 && !hasBlocks {
		return nil, errCode("no_text")
	}
	m.Text = text
	if hasBlocks {
		m.Blocks = blocks
	}
	if hasMetadata {
		m.Metadata = metadata
	}
	m.Edited = true
	s.recordLocked(s.whereLocked(ch), "update", m)
	s.notifyLocked()
	return obj{"channel": ch, "ts": m.TS, "text": m.Text, "message": s.messageJSON(m)}, nil
}

func (s *Server) chatDelete(r *apiRequest) (obj, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ch := r.get("channel")
	m := s.findMessageLocked(ch, r.get("ts"))
	if m == nil || m.Deleted {
		if _, ok := s.channels[ch]; !ok && s.imUsers[ch] == "" {
			return nil, errCode("channel_not_found")
		}
		return nil, errCode("message_not_found")
	}
	if m.User != s.opts.BotUserID {
		return nil, errCode("cant_delete_message")
	}
	s.deleteMessageLocked(m)
	s.addEntryLocked(Entry{Time: s.opts.Now(), Where: s.whereLocked(ch), Kind: "delete", Text: "(message " + m.TS + " deleted)"})
	s.notifyLocked()
	return obj{"channel": ch, "ts": m.TS}, nil
}

func (s *Server) conversationsOpen(r *apiRequest) (obj, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	users := r.get("users")
	if users == "" {
		if ch := r.get("channel"); ch != "" {
			if u, ok := s.imUsers[ch]; ok {
				return obj{"no_op": true, "already_open": true, "channel": s.imJSONLocked(ch, u)}, nil
			}
			return nil, errCode("channel_not_found")
		}
		return nil, errCode("users_list_not_supplied")
	}
	ids := strings.Split(users, ",")
	if len(ids) > 1 {
		return nil, errCode("not_supported") // group DMs are not emulated
	}
	u, ok := s.users[strings.TrimSpace(ids[0])]
	switch {
	case !ok:
		return nil, errCode("user_not_found")
	case u.Deleted:
		return nil, errCode("user_disabled")
	case u.IsBot:
		return nil, errCode("cannot_dm_bot")
	}
	id, already := s.openIMLocked(u.ID)
	s.notifyLocked()
	ch := obj{"id": id}
	if r.get("return_im") == "true" {
		ch = s.imJSONLocked(id, u.ID)
	}
	return obj{"no_op": already, "already_open": already, "channel": ch}, nil
}

func (s *Server) imJSONLocked(id, userID string) obj {
	return obj{"id": id, "is_im": true, "user": userID, "is_open": true, "created": 1700000000, "is_org_shared": false}
}

func (s *Server) conversationsInfo(r *apiRequest) (obj, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := r.get("channel")
	if u, ok := s.imUsers[id]; ok {
		return obj{"channel": s.imJSONLocked(id, u)}, nil
	}
	c, ok := s.channels[id]
	if !ok {
		return nil, errCode("channel_not_found")
	}
	member := contains(c.Members, s.opts.BotUserID)
	if c.IsPrivate && !member {
		return nil, errCode("channel_not_found")
	}
	return obj{"channel": obj{
		"id": c.ID, "name": c.Name, "name_normalized": c.Name, "is_channel": !c.IsPrivate, "is_group": false,
		"is_private": c.IsPrivate, "is_archived": c.IsArchived, "is_member": member, "is_im": false,
		"is_mpim": false, "created": 1700000000, "num_members": len(c.Members), "context_team_id": s.opts.TeamID,
	}}, nil
}

func (s *Server) conversationsMembers(r *apiRequest) (obj, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c, ok := s.channels[r.get("channel")]
	if !ok || (c.IsPrivate && !contains(c.Members, s.opts.BotUserID)) {
		return nil, errCode("channel_not_found")
	}
	return obj{"members": append([]string{}, c.Members...), "response_metadata": obj{"next_cursor": ""}}, nil
}

// userJSON renders a user as users.info does. s.mu must be held.
func (s *Server) userJSON(u *User) obj {
	tzName := u.TZ
	if tzName == "" {
		tzName = "UTC"
	}
	loc, ok := s.locs[tzName]
	if !ok {
		var err error
		if loc, err = time.LoadLocation(tzName); err != nil {
			loc = time.UTC
		}
		s.locs[tzName] = loc
	}
	label, offset := s.opts.Now().In(loc).Zone()
	display := u.Name
	return obj{
		"id": u.ID, "team_id": s.opts.TeamID, "name": u.Name, "deleted": u.Deleted, "color": "9f69e7",
		"real_name": u.RealName, "tz": tzName, "tz_label": label, "tz_offset": offset,
		"profile": obj{
			"real_name": u.RealName, "real_name_normalized": u.RealName,
			"display_name": display, "display_name_normalized": display, "team": s.opts.TeamID,
		},
		"is_admin": u.IsAdmin, "is_owner": u.IsOwner, "is_primary_owner": false, "is_restricted": false,
		"is_ultra_restricted": false, "is_bot": u.IsBot, "is_app_user": false, "updated": 1700000000,
		"is_email_confirmed": true, "locale": "en-US",
	}
}

func (s *Server) usersInfo(r *apiRequest) (obj, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[r.get("user")]
	if !ok {
		return nil, errCode("user_not_found")
	}
	return obj{"user": s.userJSON(u)}, nil
}

// usersList pages through the members in the order they were added. The
// cursor names the first user of the next page, base64("user:<ID>"), as Slack's do.
func (s *Server) usersList(r *apiRequest) (obj, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	start := 0
	if c := r.get("cursor"); c != "" {
		dec, err := base64.StdEncoding.DecodeString(c)
		id, ok := strings.CutPrefix(string(dec), "user:")
		if err != nil || !ok {
			return nil, errCode("invalid_cursor")
		}
		if start, ok = s.userIdx[id]; !ok {
			return nil, errCode("invalid_cursor")
		}
	}
	limit, _ := strconv.Atoi(r.get("limit"))
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	end := min(start+limit, len(s.userOrder))
	members := make([]obj, 0, end-start)
	for _, id := range s.userOrder[start:end] {
		members = append(members, s.userJSON(s.users[id]))
	}
	next := ""
	if end < len(s.userOrder) {
		next = base64.StdEncoding.EncodeToString([]byte("user:" + s.userOrder[end]))
	}
	return obj{"members": members, "cache_ts": s.opts.Now().Unix(), "response_metadata": obj{"next_cursor": next}}, nil
}

func (s *Server) filesGetUploadURLExternal(r *apiRequest) (obj, error) {
	name := r.get("filename")
	length, _ := strconv.Atoi(r.get("length"))
	if name == "" || length <= 0 {
		return nil, errCode("invalid_arguments")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.newIDLocked("F")
	s.files[id] = &File{ID: id, Name: name}
	s.fileOrder = append(s.fileOrder, id)
	return obj{"upload_url": s.base + "/upload/v1/" + id, "file_id": id}, nil
}

// handleUpload receives a file's content at the URL files.getUploadURLExternal
// handed out, as multipart form field "file" (as slack-go sends it) or as the raw body.
func (s *Server) handleUpload(w http.ResponseWriter, hr *http.Request) {
	id := strings.TrimPrefix(hr.URL.Path, "/upload/v1/")
	var content []byte
	ct, _, _ := mime.ParseMediaType(hr.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		mr, err := hr.MultipartReader()
		if err != nil {
			http.Error(w, "bad multipart", http.StatusBadRequest)
			return
		}
		for {
			p, err := mr.NextPart()
			if err != nil {
				break
			}
			if p.FormName() == "file" {
				content, _ = io.ReadAll(p)
			}
			_ = p.Close()
		}
	} else {
		content, _ = io.ReadAll(hr.Body)
	}
	s.mu.Lock()
	f, ok := s.files[id]
	if ok {
		f.Content = content
	}
	s.mu.Unlock()
	if !ok {
		http.Error(w, "file not found", http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "text/plain")
	_, _ = fmt.Fprintf(w, "OK - %d", len(content))
}

func (s *Server) filesCompleteUploadExternal(r *apiRequest) (obj, error) {
	raw, ok := r.raw("files")
	if !ok {
		return nil, errCode("invalid_arguments")
	}
	var summaries []struct {
		ID    string `json:"id"`
		Title string `json:"title"`
	}
	if err := json.Unmarshal(raw, &summaries); err != nil || len(summaries) == 0 {
		return nil, errCode("invalid_arguments")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	channel := r.get("channel_id")
	if channel == "" {
		channel = strings.Split(r.get("channels"), ",")[0]
	}
	if channel != "" {
		ch, err := s.resolveTargetLocked(channel)
		if err != nil {
			return nil, err
		}
		channel = ch
	}
	out := []obj{}
	for _, sum := range summaries {
		f, ok := s.files[sum.ID]
		if !ok || f.Content == nil {
			return nil, errCode("file_not_found")
		}
		f.Title = sum.Title
		if f.Title == "" {
			f.Title = f.Name
		}
		f.Channel = channel
		f.InitialComment = r.get("initial_comment")
		f.ThreadTS = r.get("thread_ts")
		f.Completed = true
		out = append(out, obj{"id": f.ID, "title": f.Title})
		if channel != "" {
			m := &Message{Channel: channel, TS: s.newTSLocked(), ThreadTS: f.ThreadTS, User: s.opts.BotUserID,
				Text: f.InitialComment}
			s.addMessageLocked(m)
			text := fmt.Sprintf("[file %s: %q, %d bytes]", f.Name, f.Title, len(f.Content))
			if f.InitialComment != "" {
				text = s.humanizeLocked(f.InitialComment) + "\n" + text
			}
			s.addEntryLocked(Entry{Time: s.opts.Now(), Where: s.whereLocked(channel), Kind: "file", Text: text})
		}
	}
	s.notifyLocked()
	return obj{"files": out}, nil
}
