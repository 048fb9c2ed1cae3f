package slackemu

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// maxEventRetries is how often Slack redelivers an unacked events_api envelope.
const maxEventRetries = 3

// maxAckSize is the size from which Slack silently drops a Socket Mode response.
const maxAckSize = 20 * 1024

// envelope is a Socket Mode frame carrying a request to the app.
type envelope struct {
	EnvelopeID             string          `json:"envelope_id"`
	Type                   string          `json:"type"`
	Payload                json.RawMessage `json:"payload"`
	AcceptsResponsePayload bool            `json:"accepts_response_payload"`
	RetryAttempt           int             `json:"retry_attempt"`
	RetryReason            string          `json:"retry_reason"`
}

// Ack is the app's acknowledgement of an envelope.
type Ack struct {
	EnvelopeID string
	Payload    json.RawMessage // the ack's payload, if any
	Latency    time.Duration   // from sending the envelope to receiving the ack
}

type ackMsg struct {
	payload json.RawMessage
	at      time.Time
}

// wsConn is one Socket Mode websocket.
type wsConn struct {
	id      int
	ws      *websocket.Conn
	writeMu sync.Mutex
	done    chan struct{}
	once    sync.Once

	draining bool // a disconnect was sent; no new envelopes go here (guarded by Server.mu)
}

func (c *wsConn) writeJSON(v any) error {
	_, err := c.writeJSONAt(v)
	return err
}

// writeJSONAt writes a frame and returns when it started to leave: after
// any wait for the connection's write lock, which is the emulator's own
// queueing, not the app's.
func (c *wsConn) writeJSONAt(v any) (time.Time, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return time.Time{}, err
	}
	return c.writeAt(b)
}

// writeAt writes a text frame and returns when it started to go out.
func (c *wsConn) writeAt(b []byte) (time.Time, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	sent := time.Now()
	_ = c.ws.SetWriteDeadline(sent.Add(5 * time.Second))
	return sent, c.ws.WriteMessage(websocket.TextMessage, b)
}

func (c *wsConn) close() {
	c.once.Do(func() { close(c.done) })
	_ = c.ws.Close()
}

func (s *Server) appsConnectionsOpen(*apiRequest) (obj, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failDials > 0 {
		s.failDials--
		return nil, errCode("internal_error")
	}
	ticket := newUUID()
	s.tickets[ticket] = false
	u := "ws" + s.base[len("http"):] + "/link/?ticket=" + url.QueryEscape(ticket) + "&app_id=" + s.opts.AppID
	return obj{"url": u}, nil
}

// FailNextDials makes the next n apps.connections.open calls fail with internal_error.
func (s *Server) FailNextDials(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failDials = n
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (s *Server) handleLink(w http.ResponseWriter, r *http.Request) {
	ticket := r.URL.Query().Get("ticket")
	s.mu.Lock()
	used, ok := s.tickets[ticket]
	if ok && !used {
		s.tickets[ticket] = true
	}
	closed := s.closed
	s.mu.Unlock()
	if !ok || used || closed {
		http.Error(w, "invalid ticket", http.StatusUnauthorized)
		return
	}
	ws, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	c := &wsConn{ws: ws, done: make(chan struct{})}

	s.mu.Lock()
	if len(s.conns) >= s.opts.MaxConnections || s.closed {
		s.mu.Unlock()
		_ = c.writeJSON(obj{"type": "disconnect", "reason": "too_many_websockets", "debug_info": obj{"host": "emu"}})
		_ = ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(websocket.ClosePolicyViolation, "too many websockets"), time.Now().Add(time.Second))
		c.close()
		return
	}
	s.dials++
	c.id = s.dials
	s.conns = append(s.conns, c)
	n := len(s.conns)
	s.wg.Add(2)
	s.mu.Unlock()

	_ = c.writeJSON(obj{
		"type":            "hello",
		"num_connections": n,
		"debug_info":      obj{"host": "emu", "approximate_connection_time": 18060},
		"connection_info": obj{"app_id": s.opts.AppID},
	})
	s.mu.Lock()
	s.notifyLocked()
	s.mu.Unlock()

	go s.readLoop(c)
	go s.pingLoop(c)
}

func (s *Server) readLoop(c *wsConn) {
	defer s.wg.Done()
	defer s.removeConn(c)
	for {
		_, data, err := c.ws.ReadMessage()
		if err != nil {
			return
		}
		var resp struct {
			EnvelopeID string          `json:"envelope_id"`
			Payload    json.RawMessage `json:"payload"`
		}
		if len(data) >= maxAckSize || json.Unmarshal(data, &resp) != nil || resp.EnvelopeID == "" {
			continue // Slack silently drops responses of 20 KB or more
		}
		s.mu.Lock()
		ch, ok := s.pending[resp.EnvelopeID]
		if ok {
			delete(s.pending, resp.EnvelopeID)
		}
		s.mu.Unlock()
		if ok {
			ch <- ackMsg{payload: resp.Payload, at: time.Now()}
		}
	}
}

func (s *Server) pingLoop(c *wsConn) {
	defer s.wg.Done()
	t := time.NewTicker(s.opts.PingInterval)
	defer t.Stop()
	ping := func() bool {
		return c.ws.WriteControl(websocket.PingMessage, []byte("ping"), time.Now().Add(5*time.Second)) == nil
	}
	if !ping() {
		return
	}
	for {
		select {
		case <-c.done:
			return
		case <-s.shutdownCh:
			return
		case <-t.C:
			if !ping() {
				return
			}
		}
	}
}

func (s *Server) removeConn(c *wsConn) {
	c.close()
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, x := range s.conns {
		if x == c {
			s.conns = append(s.conns[:i], s.conns[i+1:]...)
			s.notifyLocked()
			return
		}
	}
}

// Connections returns the number of open Socket Mode websockets.
func (s *Server) Connections() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// Dials returns how many websockets were accepted so far (reconnects included).
func (s *Server) Dials() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.dials
}

// WaitConnections waits until exactly n websockets are open.
func (s *Server) WaitConnections(ctx context.Context, n int) error {
	return s.WaitFor(ctx, func() bool { return s.Connections() == n })
}

// Disconnect sends {"type":"disconnect","reason":reason} to every connection, as
// Slack does before it recycles a websocket. Unless the reason is "warning", the
// emulator closes the sockets a second later if the app has not. No new envelope
// goes to a connection after its disconnect; driving methods wait for a new one.
func (s *Server) Disconnect(reason string) {
	s.mu.Lock()
	conns := append([]*wsConn(nil), s.conns...)
	for _, c := range conns {
		c.draining = true
	}
	s.mu.Unlock()
	for _, c := range conns {
		_ = c.writeJSON(obj{"type": "disconnect", "reason": reason, "debug_info": obj{"host": "emu"}})
		if reason != "warning" {
			time.AfterFunc(time.Second, c.close)
		}
	}
}

// DropConnections closes every websocket abruptly, without a close frame.
func (s *Server) DropConnections() {
	s.mu.Lock()
	conns := append([]*wsConn(nil), s.conns...)
	s.mu.Unlock()
	for _, c := range conns {
		c.close()
	}
}

// AckLatencies returns the latency of every ack received, in order.
func (s *Server) AckLatencies() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.latencies...)
}

// nextConn waits for a connection and picks one round robin.
func (s *Server) nextConn(ctx context.Context) (*wsConn, error) {
	for {
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			return nil, errors.New("slackemu: server closed")
		}
		var live []*wsConn
		for _, c := range s.conns {
			if !c.draining {
				live = append(live, c)
			}
		}
		if len(live) > 0 {
			c := live[s.rr%len(live)]
			s.rr++
			s.mu.Unlock()
			return c, nil
		}
		ch := s.changedLocked()
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("slackemu: waiting for a connection: %w", ctx.Err())
		}
	}
}

// deliver sends an envelope to one connection and waits up to timeout for its ack.
func (s *Server) deliver(ctx context.Context, env *envelope, timeout time.Duration) (Ack, error) {
	frame, err := json.Marshal(env)
	if err != nil {
		return Ack{}, err
	}
	if err := s.waitHeld(ctx); err != nil {
		return Ack{}, err
	}
	for {
		c, err := s.nextConn(ctx)
		if err != nil {
			return Ack{}, err
		}
		ch := make(chan ackMsg, 1)
		s.mu.Lock()
		s.pending[env.EnvelopeID] = ch
		s.mu.Unlock()
		sent, err := c.writeAt(frame)
		if err != nil {
			s.mu.Lock()
			delete(s.pending, env.EnvelopeID)
			s.mu.Unlock()
			s.removeConn(c)
			continue
		}
		timer := time.NewTimer(timeout)
		select {
		case a := <-ch:
			timer.Stop()
			ack := Ack{EnvelopeID: env.EnvelopeID, Payload: a.payload, Latency: a.at.Sub(sent)}
			s.mu.Lock()
			s.latencies = append(s.latencies, ack.Latency)
			s.notifyLocked()
			s.mu.Unlock()
			return ack, nil
		case <-timer.C:
			s.dropPending(env.EnvelopeID)
			return Ack{}, fmt.Errorf("%w: envelope %s (%s) not acked within %v", ErrAckTimeout, env.EnvelopeID, env.Type, timeout)
		case <-ctx.Done():
			timer.Stop()
			s.dropPending(env.EnvelopeID)
			return Ack{}, fmt.Errorf("slackemu: waiting for ack: %w", ctx.Err())
		}
	}
}

// HoldEnvelopes makes envelopes wait, built, until release is called,
// instead of going out at once; held says how many are waiting. A test
// sends a burst with it: every envelope reaches the app at once, and the
// emulator's work of building them, which is Slack's and not the app's,
// stays out of their ack latency.
func (s *Server) HoldEnvelopes() (held func() int, release func()) {
	s.mu.Lock()
	defer s.mu.Unlock()
	gate := make(chan struct{})
	s.hold = gate
	held = func() int {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.held
	}
	var once sync.Once
	release = func() {
		once.Do(func() {
			s.mu.Lock()
			if s.hold == gate {
				s.hold, s.held = nil, 0
			}
			s.mu.Unlock()
			close(gate)
		})
	}
	return held, release
}

// waitHeld waits while envelopes are held (HoldEnvelopes).
func (s *Server) waitHeld(ctx context.Context) error {
	s.mu.Lock()
	gate := s.hold
	if gate == nil {
		s.mu.Unlock()
		return nil
	}
	s.held++
	s.notifyLocked()
	s.mu.Unlock()
	select {
	case <-gate:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("slackemu: held envelope: %w", ctx.Err())
	}
}

func (s *Server) dropPending(id string) {
	s.mu.Lock()
	delete(s.pending, id)
	s.mu.Unlock()
}

// sendRequest delivers a slash_commands or interactive envelope once; the app
// must ack within Options.AckTimeout.
func (s *Server) sendRequest(ctx context.Context, typ string, payload any) (Ack, error) {
	b, err := json.Marshal(payload)
	if err != nil {
		return Ack{}, err
	}
	env := &envelope{EnvelopeID: newUUID(), Type: typ, Payload: b, AcceptsResponsePayload: true}
	return s.deliver(ctx, env, s.opts.AckTimeout)
}

// sendEvent delivers an events_api envelope and redelivers it with a higher
// retry_attempt while it is not acked within Options.EventRetryTimeout.
func (s *Server) sendEvent(ctx context.Context, payload json.RawMessage, attempt int, reason string) (Ack, error) {
	for ; ; attempt++ {
		env := &envelope{EnvelopeID: newUUID(), Type: "events_api", Payload: payload, RetryAttempt: attempt, RetryReason: reason}
		s.mu.Lock()
		s.events[env.EnvelopeID] = env
		s.mu.Unlock()
		ack, err := s.deliver(ctx, env, s.opts.EventRetryTimeout)
		if err == nil || !errors.Is(err, ErrAckTimeout) || attempt >= maxEventRetries {
			return ack, err
		}
		reason = "timeout"
	}
}

// Redeliver resends a past events_api envelope (under a new envelope ID) with
// retry_attempt+1 and retry_reason "timeout", and waits for its ack.
func (s *Server) Redeliver(ctx context.Context, envelopeID string) (Ack, error) {
	s.mu.Lock()
	env, ok := s.events[envelopeID]
	s.mu.Unlock()
	if !ok {
		return Ack{}, fmt.Errorf("slackemu: no events_api envelope %q", envelopeID)
	}
	return s.sendEvent(ctx, env.Payload, env.RetryAttempt+1, "timeout")
}

// SendEvent delivers a raw Events API event (the inner event, e.g.
// {"type":"app_home_opened",...}) inside an event_callback wrapper with a fresh
// event_id, and waits for the ack.
func (s *Server) SendEvent(ctx context.Context, event map[string]any) (Ack, error) {
	s.mu.Lock()
	now := s.opts.Now()
	if _, ok := event["event_ts"]; !ok {
		event["event_ts"] = s.newTSLocked()
	}
	eventID := s.newIDLocked("Ev")
	s.mu.Unlock()
	wrapper := obj{
		"token":      "emu-verification-token",
		"team_id":    s.opts.TeamID,
		"api_app_id": s.opts.AppID,
		"event":      event,
		"type":       "event_callback",
		"event_id":   eventID,
		"event_time": now.Unix(),
		"authorizations": []obj{{
			"enterprise_id": nil, "team_id": s.opts.TeamID, "user_id": s.opts.BotUserID,
			"is_bot": true, "is_enterprise_install": false,
		}},
		"is_ext_shared_channel": false,
		"event_context":         "4-emu",
	}
	b, err := json.Marshal(wrapper)
	if err != nil {
		return Ack{}, err
	}
	return s.sendEvent(ctx, b, 0, "")
}

// EventEnvelopes returns the IDs of every events_api envelope sent, including retries.
func (s *Server) EventEnvelopes() map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[string]int{}
	for id, e := range s.events {
		out[id] = e.RetryAttempt
	}
	return out
}
