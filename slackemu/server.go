// Package slackemu is an in-process Slack emulator for end-to-end tests and the
// okrbot demo. It speaks Slack's real wire formats: an HTTP server answers the Web
// API methods the bot uses (chat.*, conversations.*, users.*, views.*, files.*),
// and a Socket Mode websocket delivers slash commands, interactions and events to
// a real slack-go socketmode client and collects its acks.
//
// Tests drive it like people would (SlashCommand, ClickButton, SubmitView, …) and
// observe what people would see (Messages, DM, Ephemerals, OpenViews, Transcript).
// It imports no other okrbot package.
package slackemu

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// User is a workspace member. TZ is an IANA zone name such as "Europe/Berlin";
// users.info derives tz_label and tz_offset from it.
type User struct {
	ID, Name, RealName, TZ           string
	IsAdmin, IsOwner, Deleted, IsBot bool
}

// Channel is a public or private channel. The bot is a member when
// Options.BotUserID is in Members.
type Channel struct {
	ID, Name              string
	IsPrivate, IsArchived bool
	Members               []string
}

// Options configures a Server. Zero values get the defaults documented per field.
type Options struct {
	BotToken  string // default "xoxb-emu-bot-token"
	AppToken  string // default "xapp-1-emu-app-token"
	BotUserID string // default "UBOT"
	TeamID    string // default "T0EMU"
	// RateLimits enforces Slack-like per-method tier limits (429 + Retry-After).
	RateLimits bool
	// EventRetryTimeout is how long an events_api envelope may stay unacked before
	// it is redelivered with retry_attempt+1 and retry_reason "timeout" (at most 3
	// retries). Default 3s.
	EventRetryTimeout time.Duration
	// Now is the clock for trigger expiry, response_url expiry, message ts and
	// transcript times. Default time.Now.
	Now func() time.Time

	// AckTimeout bounds the wait for the ack of a slash command or interaction.
	// Default 3s, as in Slack.
	AckTimeout time.Duration
	// PingInterval is how often every websocket is pinged. Default 5s (slack-go
	// reconnects when no ping arrived for 30s).
	PingInterval time.Duration
	// AppID is the app's ID. Default "A0EMU".
	AppID string
	// MaxConnections is the number of concurrent websockets allowed. Default 10.
	MaxConnections int
	// NoTranscript turns transcript recording off (Transcript returns nothing),
	// e.g. for benchmarks with many messages.
	NoTranscript bool
	// ForgetClosedViews drops a modal once it is closed (ViewByID no longer
	// finds it), so that a long benchmark's emulator does not grow, and
	// collect its garbage, with every modal it ever showed.
	ForgetClosedViews bool
}

func (o *Options) setDefaults() {
	if o.BotToken == "" {
		o.BotToken = "xoxb-emu-bot-token"
	}
	if o.AppToken == "" {
		o.AppToken = "xapp-1-emu-app-token"
	}
	if o.BotUserID == "" {
		o.BotUserID = "UBOT"
	}
	if o.TeamID == "" {
		o.TeamID = "T0EMU"
	}
	if o.EventRetryTimeout <= 0 {
		o.EventRetryTimeout = 3 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.AckTimeout <= 0 {
		o.AckTimeout = 3 * time.Second
	}
	if o.PingInterval <= 0 {
		o.PingInterval = 5 * time.Second
	}
	if o.AppID == "" {
		o.AppID = "A0EMU"
	}
	if o.MaxConnections <= 0 {
		o.MaxConnections = 10
	}
}

// botID is the bot_id Slack puts on the bot's messages.
const botID = "B0EMU"

// MessageRef names a message by channel and timestamp.
type MessageRef struct{ Channel, TS string }

// Message is a message as stored by the emulator, in its latest state.
type Message struct {
	Channel, TS, ThreadTS, User, Text string
	Blocks                            json.RawMessage
	// Metadata is the message metadata set by chat.postMessage or chat.update,
	// {"event_type":…,"event_payload":{…}}, or nil.
	Metadata       json.RawMessage
	Ephemeral      bool
	EphemeralTo    string
	Edited         bool
	Deleted        bool
	ViaResponseURL bool
}

// Ref returns the message's reference.
func (m Message) Ref() MessageRef { return MessageRef{Channel: m.Channel, TS: m.TS} }

// File is a file uploaded with files.getUploadURLExternal and shared with
// files.completeUploadExternal.
type File struct {
	ID, Name, Title, Channel, InitialComment, ThreadTS string
	Content                                            []byte
	Completed                                          bool
}

// ErrAckTimeout is returned by driving methods when the app did not ack in time.
var ErrAckTimeout = errors.New("slackemu: ack timeout")

// Server is a running Slack emulator. All methods are safe for concurrent use.
type Server struct {
	opts    Options
	ln      net.Listener
	httpSrv *http.Server
	base    string // http://127.0.0.1:PORT

	mu sync.Mutex
	// hold, when set, holds envelopes back until it is closed; held counts
	// them (HoldEnvelopes).
	hold chan struct{}
	held int
	// changed is closed and set to nil on every state change; it is created
	// lazily by waiters, so changes nobody waits for cost nothing.
	changed chan struct{}
	closed  bool

	seq    int64
	lastTS int64

	users     map[string]*User
	userOrder []string
	userIdx   map[string]int            // user ID -> index in userOrder
	locs      map[string]*time.Location // time zone cache for userJSON
	channels  map[string]*Channel
	ims       map[string]string // user ID -> IM ID
	imUsers   map[string]string // IM ID -> user ID

	messages   map[string][]*Message // channel ID -> messages (incl. IMs), in ts order
	msgIndex   map[MessageRef]*Message
	replies    map[MessageRef]int // thread parent -> number of live replies
	totalPosts int
	ephemerals []*Message
	ephByUser  map[string][]*Message
	ephIndex   map[MessageRef]*Message
	files      map[string]*File
	fileOrder  []string
	calls      map[string]int
	limited    map[string]int // method -> 429 answers
	transcript []entryRec

	triggers     map[string]*trigger
	responseURLs map[string]*responseURL
	views        map[string]*viewRec
	stacks       map[string][]string // user ID -> modal view IDs, bottom first
	homes        map[string]string   // user ID -> home view ID

	// Socket Mode.
	tickets    map[string]bool // ticket -> used
	conns      []*wsConn
	dials      int
	rr         int
	pending    map[string]chan ackMsg
	events     map[string]*envelope // envelope ID -> events_api envelope sent
	latencies  []time.Duration
	failDials  int
	wg         sync.WaitGroup
	shutdownCh chan struct{}

	limits *limiter
}

// New starts an emulator listening on 127.0.0.1 on a free port.
func New(opts Options) *Server {
	opts.setDefaults()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(fmt.Sprintf("slackemu: listen: %v", err))
	}
	s := &Server{
		opts:         opts,
		ln:           ln,
		base:         "http://" + ln.Addr().String(),
		users:        map[string]*User{},
		userIdx:      map[string]int{},
		locs:         map[string]*time.Location{},
		msgIndex:     map[MessageRef]*Message{},
		replies:      map[MessageRef]int{},
		ephByUser:    map[string][]*Message{},
		ephIndex:     map[MessageRef]*Message{},
		limited:      map[string]int{},
		channels:     map[string]*Channel{},
		ims:          map[string]string{},
		imUsers:      map[string]string{},
		messages:     map[string][]*Message{},
		files:        map[string]*File{},
		calls:        map[string]int{},
		triggers:     map[string]*trigger{},
		responseURLs: map[string]*responseURL{},
		views:        map[string]*viewRec{},
		stacks:       map[string][]string{},
		homes:        map[string]string{},
		tickets:      map[string]bool{},
		pending:      map[string]chan ackMsg{},
		events:       map[string]*envelope{},
		shutdownCh:   make(chan struct{}),
		limits:       newLimiter(),
	}
	s.users[opts.BotUserID] = &User{ID: opts.BotUserID, Name: "okrbot", RealName: "OKR Bot", IsBot: true, TZ: "UTC"}
	s.userIdx[opts.BotUserID] = 0
	s.userOrder = append(s.userOrder, opts.BotUserID)

	mux := http.NewServeMux()
	mux.HandleFunc("/api/", s.handleAPI)
	mux.HandleFunc("/link/", s.handleLink)
	mux.HandleFunc("/upload/", s.handleUpload)
	mux.HandleFunc("/response/", s.handleResponseURL)
	s.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.httpSrv.Serve(ln) }()
	return s
}

// APIURL returns the Web API base URL with a trailing slash, for slack.OptionAPIURL.
func (s *Server) APIURL() string { return s.base + "/api/" }

// BotToken returns the bot token the Web API accepts.
func (s *Server) BotToken() string { return s.opts.BotToken }

// AppToken returns the app-level token apps.connections.open accepts.
func (s *Server) AppToken() string { return s.opts.AppToken }

// BotUserID returns the bot's user ID.
func (s *Server) BotUserID() string { return s.opts.BotUserID }

// Close stops the HTTP server and closes every websocket.
func (s *Server) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	close(s.shutdownCh)
	conns := append([]*wsConn(nil), s.conns...)
	s.notifyLocked()
	s.mu.Unlock()
	_ = s.httpSrv.Close()
	for _, c := range conns {
		c.close()
	}
	s.wg.Wait()
}

// AddUser adds a workspace member.
func (s *Server) AddUser(u User) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[u.ID]; !ok {
		s.userIdx[u.ID] = len(s.userOrder)
		s.userOrder = append(s.userOrder, u.ID)
	}
	cp := u
	s.users[u.ID] = &cp
	s.notifyLocked()
}

// SetUser replaces a member, e.g. to deactivate them or change their time zone.
func (s *Server) SetUser(u User) { s.AddUser(u) }

// AddChannel adds or replaces a channel.
func (s *Server) AddChannel(c Channel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cp := c
	cp.Members = append([]string(nil), c.Members...)
	s.channels[c.ID] = &cp
	s.notifyLocked()
}

// notifyLocked wakes every WaitFor. s.mu must be held.
func (s *Server) notifyLocked() {
	if s.changed != nil {
		close(s.changed)
		s.changed = nil
	}
}

// changedLocked returns a channel closed at the next state change. s.mu must be held.
func (s *Server) changedLocked() <-chan struct{} {
	if s.changed == nil {
		s.changed = make(chan struct{})
	}
	return s.changed
}

// WaitFor blocks until cond returns true, re-checking it whenever the emulator's
// state changes, or until ctx ends. cond may call the Server's accessors.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	for {
		s.mu.Lock()
		ch := s.changedLocked()
		s.mu.Unlock()
		if cond() {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("slackemu: wait: %w", ctx.Err())
		}
	}
}

// Calls returns how many times a Web API method was called.
func (s *Server) Calls(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[method]
}

// RateLimited returns how many times a Web API method was answered with HTTP 429,
// by the rate limits or by InjectErrors.
func (s *Server) RateLimited(method string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limited[method]
}

// CountPosts returns how many messages the bot posted in a conversation, given
// as a channel ID, an IM ID or a user ID (their IM), including messages deleted
// since; "" counts every conversation. It is O(1), cheap enough for WaitFor.
func (s *Server) CountPosts(channel string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if channel == "" {
		return s.totalPosts
	}
	if im, ok := s.ims[channel]; ok {
		channel = im
	}
	return len(s.messages[channel])
}

// Messages returns the channel's (or IM's) messages in order, in their latest
// state; deleted messages stay in the list with Deleted set.
func (s *Server) Messages(channelID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyMessages(s.messages[channelID])
}

// DM returns the messages the bot posted in its IM with the user, oldest first,
// in their latest state (deleted ones with Deleted set).
func (s *Server) DM(userID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	im, ok := s.ims[userID]
	if !ok {
		return nil
	}
	return copyMessages(s.messages[im])
}

// IMChannel returns the ID of the IM between the bot and the user, opening it.
func (s *Server) IMChannel(userID string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, _ := s.openIMLocked(userID)
	return id
}

// Ephemerals returns the ephemeral messages the user has seen, in order.
func (s *Server) Ephemerals(userID string) []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return copyMessages(s.ephByUser[userID])
}

// Files returns the uploaded files whose upload was completed, in order.
func (s *Server) Files() []File {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []File
	for _, id := range s.fileOrder {
		f := s.files[id]
		if !f.Completed {
			continue
		}
		cp := *f
		cp.Content = append([]byte(nil), f.Content...)
		out = append(out, cp)
	}
	return out
}

func copyMessages(ms []*Message) []Message {
	out := make([]Message, 0, len(ms))
	for _, m := range ms {
		cp := *m
		cp.Blocks = append(json.RawMessage(nil), m.Blocks...)
		cp.Metadata = append(json.RawMessage(nil), m.Metadata...)
		out = append(out, cp)
	}
	return out
}

// addMessageLocked stores a new bot message in its conversation. s.mu must be held.
func (s *Server) addMessageLocked(m *Message) {
	s.messages[m.Channel] = append(s.messages[m.Channel], m)
	s.msgIndex[m.Ref()] = m
	s.totalPosts++
	if m.ThreadTS != "" && m.ThreadTS != m.TS {
		s.replies[MessageRef{Channel: m.Channel, TS: m.ThreadTS}]++
	}
}

// deleteMessageLocked marks a message deleted. s.mu must be held.
func (s *Server) deleteMessageLocked(m *Message) {
	if m.Deleted {
		return
	}
	m.Deleted = true
	if !m.Ephemeral && m.ThreadTS != "" && m.ThreadTS != m.TS {
		s.replies[MessageRef{Channel: m.Channel, TS: m.ThreadTS}]--
	}
}

// newID returns a fresh Slack-looking ID with the given prefix. s.mu must be held.
func (s *Server) newIDLocked(prefix string) string {
	s.seq++
	return fmt.Sprintf("%s%07X", prefix, s.seq)
}

// newTSLocked returns a fresh, strictly increasing message timestamp. s.mu must be held.
func (s *Server) newTSLocked() string {
	us := s.opts.Now().UnixMicro()
	if us <= s.lastTS {
		us = s.lastTS + 1
	}
	s.lastTS = us
	return fmt.Sprintf("%d.%06d", us/1e6, us%1e6)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newUUID() string {
	h := randHex(16)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// userNameLocked returns "@name" for a user ID. s.mu must be held.
func (s *Server) userNameLocked(id string) string {
	if u, ok := s.users[id]; ok && u.Name != "" {
		return "@" + u.Name
	}
	return "@" + id
}

// whereLocked names a conversation for people: "#general" or "DM @alice".
func (s *Server) whereLocked(channelID string) string {
	if c, ok := s.channels[channelID]; ok {
		return "#" + c.Name
	}
	if u, ok := s.imUsers[channelID]; ok {
		return "DM " + s.userNameLocked(u)
	}
	return channelID
}

// channelNameLocked is the channel_name Slack puts in payloads.
func (s *Server) channelNameLocked(channelID string) string {
	if c, ok := s.channels[channelID]; ok {
		return c.Name
	}
	if _, ok := s.imUsers[channelID]; ok {
		return "directmessage"
	}
	return ""
}

// openIMLocked returns the user's IM ID, creating it; alreadyOpen tells whether it existed.
func (s *Server) openIMLocked(userID string) (id string, alreadyOpen bool) {
	if id, ok := s.ims[userID]; ok {
		return id, true
	}
	id = "D" + strings.TrimPrefix(userID, "U")
	if _, taken := s.imUsers[id]; taken || s.channels[id] != nil {
		id = s.newIDLocked("D")
	}
	s.ims[userID] = id
	s.imUsers[id] = userID
	return id, false
}
