package slackemu_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
	"github.com/slack-go/slack/socketmode"

	"github.com/okrbot/okrbot/slackemu"
)

func plain(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject("plain_text", s, false, false)
}

func mrkdwn(s string) *slack.TextBlockObject {
	return slack.NewTextBlockObject("mrkdwn", s, false, false)
}

func slackErr(err error) string {
	var se slack.SlackErrorResponse
	if errors.As(err, &se) {
		return se.Err
	}
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestSlashCommandRoundTrip(t *testing.T) {
	cmds := make(chan slack.SlashCommand, 1)
	env := mustStart(t, slackemu.Options{}, func(sm *socketmode.Client, evt socketmode.Event) {
		cmd := evt.Data.(slack.SlashCommand)
		cmds <- cmd
		_ = sm.Ack(*evt.Request, map[string]any{"text": "you said " + cmd.Text})
	})
	addPeople(env.emu)
	ctx := testCtx(t)
	select {
	case <-env.helloCh:
	case <-ctx.Done():
		t.Fatal("slack-go never saw hello")
	}

	ack, err := env.emu.SlashCommand(ctx, "UALICE", "CGENERAL", "/okr", "list")
	if err != nil {
		t.Fatalf("SlashCommand: %v", err)
	}
	cmd := <-cmds
	if cmd.Command != "/okr" || cmd.Text != "list" || cmd.UserID != "UALICE" || cmd.UserName != "alice" ||
		cmd.ChannelID != "CGENERAL" || cmd.ChannelName != "general" || cmd.TriggerID == "" || cmd.ResponseURL == "" || cmd.TeamID != "T0EMU" {
		t.Errorf("slash payload: got %+v", cmd)
	}
	if !strings.Contains(string(ack.Payload), "you said list") {
		t.Errorf("ack payload: got %s", ack.Payload)
	}
	if ack.Latency <= 0 || len(env.emu.AckLatencies()) != 1 {
		t.Errorf("latency: got %v, %v", ack.Latency, env.emu.AckLatencies())
	}
	eph := env.emu.Ephemerals("UALICE")
	if len(eph) != 1 || eph[0].Text != "you said list" || eph[0].Channel != "CGENERAL" {
		t.Fatalf("ephemerals: got %+v", eph)
	}
	tr := env.emu.Transcript()
	if len(tr) != 2 || tr[0].Kind != "command" || tr[1].Where != "ephemeral to @alice in #general" {
		t.Errorf("transcript: got %+v", tr)
	}

	// The response_url takes a message, at most five times.
	for i := range 5 {
		if _, _, err := env.api.PostMessageContext(ctx, "", slack.MsgOptionResponseURL(cmd.ResponseURL, "in_channel"),
			slack.MsgOptionText(fmt.Sprintf("reply %d", i), false)); err != nil {
			t.Fatalf("response_url %d: %v", i, err)
		}
	}
	if _, _, err := env.api.PostMessageContext(ctx, "", slack.MsgOptionResponseURL(cmd.ResponseURL, "in_channel"),
		slack.MsgOptionText("sixth", false)); err == nil {
		t.Errorf("sixth response_url use: got no error")
	}
	msgs := env.emu.Messages("CGENERAL")
	if len(msgs) != 5 || !msgs[0].ViaResponseURL {
		t.Errorf("channel messages: got %+v", msgs)
	}
}

func TestSlashCommandAckTimeout(t *testing.T) {
	env := mustStart(t, slackemu.Options{AckTimeout: 100 * time.Millisecond}, func(*socketmode.Client, socketmode.Event) {})
	addPeople(env.emu)
	_, err := env.emu.SlashCommand(testCtx(t), "UALICE", "CGENERAL", "/okr", "")
	if !errors.Is(err, slackemu.ErrAckTimeout) {
		t.Fatalf("got %v, want ErrAckTimeout", err)
	}
}

func TestViewsOpenTriggers(t *testing.T) {
	clock := &fakeClock{now: time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)}
	triggers := make(chan string, 4)
	env := mustStart(t, slackemu.Options{Now: clock.Now}, func(sm *socketmode.Client, evt socketmode.Event) {
		triggers <- evt.Data.(slack.SlashCommand).TriggerID
		_ = sm.Ack(*evt.Request)
	})
	addPeople(env.emu)
	ctx := testCtx(t)
	modal := slack.ModalViewRequest{Type: slack.VTModal, Title: plain("New objective"), CallbackID: "new_objective",
		Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(mrkdwn("Hello"), nil, nil)}}}

	if _, err := env.emu.SlashCommand(ctx, "UALICE", "CGENERAL", "/okr", "new"); err != nil {
		t.Fatal(err)
	}
	trigger := <-triggers
	resp, err := env.api.OpenViewContext(ctx, trigger, modal)
	if err != nil {
		t.Fatalf("OpenView with fresh trigger: %v", err)
	}
	if resp.View.ID == "" || resp.View.Hash == "" || resp.View.CallbackID != "new_objective" {
		t.Errorf("view: got %+v", resp.View)
	}
	if views := env.emu.OpenViews("UALICE"); len(views) != 1 || views[0].ID != resp.View.ID {
		t.Errorf("open views: got %+v", views)
	}
	if _, err := env.api.OpenViewContext(ctx, trigger, modal); slackErr(err) != "exchanged_trigger_id" {
		t.Errorf("reused trigger: got %v, want exchanged_trigger_id", err)
	}
	if _, err := env.api.OpenViewContext(ctx, "123.456.bogus", modal); slackErr(err) != "invalid_trigger_id" {
		t.Errorf("bogus trigger: got %v, want invalid_trigger_id", err)
	}

	if _, err := env.emu.SlashCommand(ctx, "UALICE", "CGENERAL", "/okr", "new"); err != nil {
		t.Fatal(err)
	}
	trigger = <-triggers
	clock.Advance(3*time.Second + time.Millisecond)
	if _, err := env.api.OpenViewContext(ctx, trigger, modal); slackErr(err) != "expired_trigger_id" {
		t.Errorf("old trigger: got %v, want expired_trigger_id", err)
	}
}

func TestInvalidBlocks(t *testing.T) {
	triggers := make(chan string, 1)
	env := mustStart(t, slackemu.Options{}, func(sm *socketmode.Client, evt socketmode.Event) {
		triggers <- evt.Data.(slack.SlashCommand).TriggerID
		_ = sm.Ack(*evt.Request)
	})
	addPeople(env.emu)
	ctx := testCtx(t)

	var blocks []slack.Block
	for i := range 51 {
		blocks = append(blocks, slack.NewSectionBlock(mrkdwn(fmt.Sprintf("line %d", i)), nil, nil))
	}
	_, _, err := env.api.PostMessageContext(ctx, "CGENERAL", slack.MsgOptionBlocks(blocks...))
	var se slack.SlackErrorResponse
	if !errors.As(err, &se) || se.Err != "invalid_blocks" || len(se.Errors) == 0 || len(se.ResponseMetadata.Messages) == 0 {
		t.Fatalf("51 blocks: got %#v, want invalid_blocks with errors", err)
	}
	if n := len(env.emu.Messages("CGENERAL")); n != 0 {
		t.Errorf("messages stored: got %d, want 0", n)
	}

	if _, err := env.emu.SlashCommand(ctx, "UALICE", "CGENERAL", "/okr", "new"); err != nil {
		t.Fatal(err)
	}
	modal := slack.ModalViewRequest{Type: slack.VTModal, Title: plain("A title that is far too long"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(mrkdwn("Hello"), nil, nil)}}}
	_, err = env.api.OpenViewContext(ctx, <-triggers, modal)
	if !errors.As(err, &se) || se.Err != "invalid_blocks" || !strings.Contains(fmt.Sprint(se.ResponseMetadata.Messages), "/view/title") {
		t.Fatalf("long title: got %#v, want invalid_blocks at /view/title", err)
	}
}

func TestChatAndConversations(t *testing.T) {
	env := mustStart(t, slackemu.Options{}, nil)
	addPeople(env.emu)
	env.emu.AddUser(slackemu.User{ID: "UGONE", Name: "gone", Deleted: true})
	ctx := testCtx(t)
	api := env.api

	ch, ts, err := api.PostMessageContext(ctx, "CGENERAL", slack.MsgOptionText("Weekly check-in <@UALICE>", false))
	if err != nil || ch != "CGENERAL" || ts == "" {
		t.Fatalf("post: got %q %q %v", ch, ts, err)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "CGENERAL", ts, slack.MsgOptionText("Updated", false)); err != nil {
		t.Fatalf("update: %v", err)
	}
	msgs := env.emu.Messages("CGENERAL")
	if len(msgs) != 1 || msgs[0].Text != "Updated" || !msgs[0].Edited {
		t.Errorf("messages: got %+v", msgs)
	}
	if _, _, _, err := api.UpdateMessageContext(ctx, "CGENERAL", "1.000001", slack.MsgOptionText("x", false)); slackErr(err) != "message_not_found" {
		t.Errorf("update missing: got %v", err)
	}
	if _, _, err := api.PostMessageContext(ctx, "CGENERAL", slack.MsgOptionTS(ts), slack.MsgOptionText("in thread", false)); err != nil {
		t.Fatalf("thread reply: %v", err)
	}
	if got := env.emu.Messages("CGENERAL"); len(got) != 2 || got[1].ThreadTS != ts {
		t.Errorf("thread: got %+v", got)
	}

	imCh, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{"UALICE"}})
	if err != nil || !strings.HasPrefix(imCh.ID, "D") {
		t.Fatalf("open conversation: got %+v %v", imCh, err)
	}
	if _, _, err := api.PostMessageContext(ctx, imCh.ID, slack.MsgOptionText("Hi Alice", false)); err != nil {
		t.Fatalf("post DM: %v", err)
	}
	if _, _, err := api.PostMessageContext(ctx, "UALICE", slack.MsgOptionText("Hi again", false)); err != nil {
		t.Fatalf("post to user ID: %v", err)
	}
	if dm := env.emu.DM("UALICE"); len(dm) != 2 || dm[0].Text != "Hi Alice" || dm[1].Channel != imCh.ID {
		t.Errorf("DM: got %+v", dm)
	}

	if _, err := api.PostEphemeralContext(ctx, "CSECRET", "UALICE", slack.MsgOptionText("psst", false)); slackErr(err) != "not_in_channel" {
		t.Errorf("ephemeral in private channel: got %v", err)
	}
	if _, err := api.PostEphemeralContext(ctx, "CGENERAL", "UALICE", slack.MsgOptionText("psst", false)); err != nil {
		t.Errorf("ephemeral: %v", err)
	}
	env.emu.AddUser(slackemu.User{ID: "UCAROL", Name: "carol"})
	if _, err := api.PostEphemeralContext(ctx, "CGENERAL", "UCAROL", slack.MsgOptionText("psst", false)); slackErr(err) != "user_not_in_channel" {
		t.Errorf("ephemeral to non-member: got %v", err)
	}

	for _, tc := range []struct{ channel, want string }{
		{"CSECRET", "not_in_channel"},
		{"COLD", "is_archived"},
		{"CNOPE", "channel_not_found"},
		{"UGONE", "user_disabled"},
	} {
		if _, _, err := api.PostMessageContext(ctx, tc.channel, slack.MsgOptionText("x", false)); slackErr(err) != tc.want {
			t.Errorf("post to %s: got %v, want %s", tc.channel, err, tc.want)
		}
	}
	if _, _, err := api.PostMessageContext(ctx, "CGENERAL"); slackErr(err) != "no_text" {
		t.Errorf("empty post: got %v, want no_text", err)
	}
	for _, tc := range []struct{ user, want string }{{"UGONE", "user_disabled"}, {"UNOPE", "user_not_found"}, {"UBOT", "cannot_dm_bot"}} {
		if _, _, _, err := api.OpenConversationContext(ctx, &slack.OpenConversationParameters{Users: []string{tc.user}}); slackErr(err) != tc.want {
			t.Errorf("open DM with %s: got %v, want %s", tc.user, err, tc.want)
		}
	}
	if _, _, err := api.DeleteMessageContext(ctx, "CGENERAL", ts); err != nil {
		t.Errorf("delete: %v", err)
	}
	if got := env.emu.Messages("CGENERAL"); !got[0].Deleted {
		t.Errorf("deleted flag: got %+v", got[0])
	}
	info, err := api.GetConversationInfoContext(ctx, &slack.GetConversationInfoInput{ChannelID: "CGENERAL"})
	if err != nil || info.Name != "general" {
		t.Errorf("conversations.info: got %+v %v", info, err)
	}

	badAPI := slack.New("xoxb-wrong", slack.OptionAPIURL(env.emu.APIURL()))
	if _, err := badAPI.AuthTestContext(ctx); slackErr(err) != "invalid_auth" {
		t.Errorf("wrong token: got %v", err)
	}
	auth, err := api.AuthTestContext(ctx)
	if err != nil || auth.UserID != "UBOT" || auth.TeamID != "T0EMU" {
		t.Errorf("auth.test: got %+v %v", auth, err)
	}
	if env.emu.Calls("chat.postMessage") < 3 {
		t.Errorf("calls: got %d", env.emu.Calls("chat.postMessage"))
	}
}

func TestUsersInfoTimeZone(t *testing.T) {
	clock := &fakeClock{now: time.Date(2027, 1, 4, 9, 0, 0, 0, time.UTC)}
	env := mustStart(t, slackemu.Options{Now: clock.Now}, nil)
	addPeople(env.emu)
	ctx := testCtx(t)
	u, err := env.api.GetUserInfoContext(ctx, "UALICE")
	if err != nil {
		t.Fatal(err)
	}
	if u.TZ != "Europe/Berlin" || u.TZOffset != 3600 || u.TZLabel != "CET" || !u.IsAdmin || u.RealName != "Alice Example" ||
		u.Profile.RealName != "Alice Example" || u.Profile.DisplayName != "alice" {
		t.Errorf("alice: got %+v", u)
	}
	bob, err := env.api.GetUserInfoContext(ctx, "UBOB")
	if err != nil || bob.TZOffset != -5*3600 {
		t.Errorf("bob: got %+v %v", bob, err)
	}
	if _, err := env.api.GetUserInfoContext(ctx, "UNOPE"); slackErr(err) != "user_not_found" {
		t.Errorf("unknown user: got %v", err)
	}
	users, err := env.api.GetUsersContext(ctx)
	if err != nil || len(users) != 3 {
		t.Errorf("users.list: got %d users, %v", len(users), err)
	}
}

func TestUploadFile(t *testing.T) {
	env := mustStart(t, slackemu.Options{}, nil)
	addPeople(env.emu)
	content := "objective,progress\nShip v1,0.5\n"
	sum, err := env.api.UploadFileContext(testCtx(t), slack.UploadFileParameters{
		Filename: "okrs.csv", FileSize: len(content), Reader: strings.NewReader(content),
		Title: "OKR export", Channel: "CGENERAL", InitialComment: "Here is the export",
	})
	if err != nil {
		t.Fatalf("upload: %v", err)
	}
	files := env.emu.Files()
	if len(files) != 1 || files[0].ID != sum.ID || string(files[0].Content) != content || files[0].Title != "OKR export" ||
		files[0].Channel != "CGENERAL" || files[0].InitialComment != "Here is the export" || files[0].Name != "okrs.csv" {
		t.Errorf("files: got %+v", files)
	}
}

func TestImageBlockNeedsAnUploadedFile(t *testing.T) {
	env := mustStart(t, slackemu.Options{}, nil)
	addPeople(env.emu)
	ctx := testCtx(t)
	image := func(id string) slack.MsgOption {
		return slack.MsgOptionBlocks(slack.NewImageBlockSlackFile(&slack.SlackFileObject{ID: id}, "a chart", "", nil))
	}
	if _, _, err := env.api.PostMessageContext(ctx, "CGENERAL", image("FNOPE")); slackErr(err) != "invalid_blocks" {
		t.Fatalf("image of no file: got %v, want invalid_blocks", err)
	}
	png := "\x89PNG fake"
	sum, err := env.api.UploadFileContext(ctx, slack.UploadFileParameters{Filename: "chart.png", FileSize: len(png), Reader: strings.NewReader(png)})
	if err != nil {
		t.Fatalf("private upload: %v", err)
	}
	if f := env.emu.Files(); len(f) != 1 || f[0].Channel != "" {
		t.Fatalf("a file uploaded without a channel is shared: %+v", f)
	}
	if _, _, err := env.api.PostMessageContext(ctx, "CGENERAL", image(sum.ID)); err != nil {
		t.Fatalf("image of an uploaded file: %v", err)
	}
}

func TestRateLimit(t *testing.T) {
	env := mustStart(t, slackemu.Options{RateLimits: true}, nil)
	addPeople(env.emu)
	ctx := testCtx(t)
	var rl *slack.RateLimitedError
	for i := range 200 {
		_, err := env.api.GetUserInfoContext(ctx, "UALICE")
		if err == nil {
			continue
		}
		if !errors.As(err, &rl) {
			t.Fatalf("call %d: got %v, want *slack.RateLimitedError", i, err)
		}
		break
	}
	if rl == nil || rl.RetryAfter < time.Second {
		t.Fatalf("got %v, want a rate limit with Retry-After >= 1s", rl)
	}

	// chat.postMessage: about one per second per channel, after a short burst.
	var limited bool
	for range 10 {
		if _, _, err := env.api.PostMessageContext(ctx, "CGENERAL", slack.MsgOptionText("x", false)); errors.As(err, &rl) {
			limited = true
			break
		}
	}
	if !limited {
		t.Errorf("10 quick posts to one channel were not rate limited")
	}
	if _, _, err := env.api.PostMessageContext(ctx, "UBOB", slack.MsgOptionText("x", false)); err != nil {
		t.Errorf("post to another channel: %v", err)
	}
}

func TestInjectErrorsAndLatency(t *testing.T) {
	env := mustStart(t, slackemu.Options{}, nil)
	ctx := testCtx(t)
	env.emu.InjectErrors("auth.test", 500, 1)
	env.emu.InjectErrors("auth.test", 429, 1)
	var sce slack.StatusCodeError
	if _, err := env.api.AuthTestContext(ctx); !errors.As(err, &sce) || sce.Code != 500 {
		t.Errorf("first: got %v, want status 500", err)
	}
	var rl *slack.RateLimitedError
	if _, err := env.api.AuthTestContext(ctx); !errors.As(err, &rl) || rl.RetryAfter != time.Second {
		t.Errorf("second: got %v, want rate limited", err)
	}
	env.emu.SetLatency("auth.test", 50*time.Millisecond)
	start := time.Now()
	if _, err := env.api.AuthTestContext(ctx); err != nil || time.Since(start) < 50*time.Millisecond {
		t.Errorf("third: got %v after %v", err, time.Since(start))
	}
}

func TestDisconnectReconnects(t *testing.T) {
	env := mustStart(t, slackemu.Options{}, nil)
	ctx := testCtx(t)
	env.emu.Disconnect("refresh_requested")
	if _, err := env.emu.SlashCommand(ctx, "UBOT", "CGENERAL", "/okr", ""); err != nil {
		t.Errorf("slash right after disconnect: %v", err)
	}
	if err := env.emu.WaitFor(ctx, func() bool { return env.emu.Dials() == 2 && env.emu.Connections() == 1 }); err != nil {
		t.Fatalf("no reconnect after refresh_requested: dials %d, connections %d", env.emu.Dials(), env.emu.Connections())
	}
	env.emu.FailNextDials(2)
	env.emu.DropConnections()
	if err := env.emu.WaitFor(ctx, func() bool { return env.emu.Dials() == 3 && env.emu.Connections() == 1 }); err != nil {
		t.Fatalf("no reconnect after drop: %v", err)
	}
	if got := env.emu.Calls("apps.connections.open"); got != 5 {
		t.Errorf("apps.connections.open calls: got %d, want 5", got)
	}
	// Still works after reconnecting.
	if _, err := env.emu.SlashCommand(ctx, "UBOT", "CGENERAL", "/okr", ""); err != nil {
		t.Errorf("slash after reconnect: %v", err)
	}
}

func TestEventRedelivery(t *testing.T) {
	attempts := make(chan int, 10)
	env := mustStart(t, slackemu.Options{EventRetryTimeout: 200 * time.Millisecond}, func(sm *socketmode.Client, evt socketmode.Event) {
		attempts <- evt.Request.RetryAttempt
		if evt.Request.RetryAttempt == 0 { // lose the first delivery
			return
		}
		_ = sm.Ack(*evt.Request)
	})
	addPeople(env.emu)
	ctx := testCtx(t)
	ack, err := env.emu.OpenHome(ctx, "UALICE")
	if err != nil {
		t.Fatalf("OpenHome: %v", err)
	}
	if a, b := <-attempts, <-attempts; a != 0 || b != 1 {
		t.Errorf("attempts: got %d, %d; want 0, 1", a, b)
	}
	if got := env.emu.EventEnvelopes()[ack.EnvelopeID]; got != 1 {
		t.Errorf("acked envelope retry_attempt: got %d, want 1", got)
	}

	// An explicit redelivery counts up from the envelope's attempt.
	if _, err := env.emu.Redeliver(ctx, ack.EnvelopeID); err != nil {
		t.Fatalf("Redeliver: %v", err)
	}
	if got := <-attempts; got != 2 {
		t.Errorf("redelivered attempt: got %d, want 2", got)
	}
}

func TestSendEventParsesInSlackGo(t *testing.T) {
	events := make(chan slackevents.EventsAPIEvent, 1)
	env := mustStart(t, slackemu.Options{}, func(sm *socketmode.Client, evt socketmode.Event) {
		events <- evt.Data.(slackevents.EventsAPIEvent)
		_ = sm.Ack(*evt.Request)
	})
	addPeople(env.emu)
	if _, err := env.emu.OpenHome(testCtx(t), "UALICE"); err != nil {
		t.Fatal(err)
	}
	ev := <-events
	opened, ok := ev.InnerEvent.Data.(*slackevents.AppHomeOpenedEvent)
	if ev.Type != slackevents.CallbackEvent || !ok || opened.User != "UALICE" || opened.Tab != "home" {
		t.Errorf("event: got %+v / %+v", ev, ev.InnerEvent.Data)
	}
}

func TestTooManyWebsockets(t *testing.T) {
	env := mustStart(t, slackemu.Options{}, nil) // one connection already
	ctx := testCtx(t)
	var conns []*websocket.Conn
	t.Cleanup(func() {
		for _, c := range conns {
			_ = c.Close()
		}
	})
	for i := 0; i < 10; i++ {
		_, url, err := env.api.StartSocketModeContext(ctx)
		if err != nil {
			t.Fatal(err)
		}
		c, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var frame struct{ Type, Reason string }
		if err := c.ReadJSON(&frame); err != nil {
			t.Fatal(err)
		}
		want := "hello"
		if i == 9 {
			want = "disconnect"
		}
		if frame.Type != want {
			t.Fatalf("connection %d: got %q, want %q", i+2, frame.Type, want)
		}
		if i == 9 && frame.Reason != "too_many_websockets" {
			t.Errorf("reason: got %q", frame.Reason)
		}
	}
	if n := env.emu.Connections(); n != 10 {
		t.Errorf("connections: got %d, want 10", n)
	}
}

func TestButtonClickAndResponseURL(t *testing.T) {
	actions := make(chan slack.InteractionCallback, 1)
	env := mustStart(t, slackemu.Options{}, func(sm *socketmode.Client, evt socketmode.Event) {
		cb := evt.Data.(slack.InteractionCallback)
		_ = sm.Ack(*evt.Request)
		actions <- cb
	})
	addPeople(env.emu)
	ctx := testCtx(t)
	_, ts, err := env.api.PostMessageContext(ctx, "CGENERAL", slack.MsgOptionText("Check in", false), slack.MsgOptionBlocks(
		slack.NewSectionBlock(mrkdwn("*Ship v1* — 50%"), nil, nil),
		slack.NewActionBlock("checkin_actions",
			slack.NewButtonBlockElement("checkin_open", "kr-42", plain("Check in")),
			slack.NewButtonBlockElement("checkin_skip", "kr-42", plain("Skip")))))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.emu.ClickButton(ctx, "UBOB", slackemu.MessageRef{Channel: "CGENERAL", TS: ts}, "checkin_open"); err != nil {
		t.Fatalf("click: %v", err)
	}
	cb := <-actions
	if cb.Type != slack.InteractionTypeBlockActions || len(cb.ActionCallback.BlockActions) != 1 {
		t.Fatalf("callback: got %+v", cb)
	}
	a := cb.ActionCallback.BlockActions[0]
	if a.ActionID != "checkin_open" || a.Value != "kr-42" || a.BlockID != "checkin_actions" || cb.User.ID != "UBOB" ||
		cb.Container.MessageTs != ts || cb.Channel.ID != "CGENERAL" || cb.Message.Timestamp != ts || cb.TriggerID == "" {
		t.Errorf("action: got %+v in %+v", a, cb)
	}
	if _, _, err := env.api.PostMessageContext(ctx, "", slack.MsgOptionReplaceOriginal(cb.ResponseURL), slack.MsgOptionText("Checked in", false)); err != nil {
		t.Fatalf("replace_original: %v", err)
	}
	msgs := env.emu.Messages("CGENERAL")
	if len(msgs) != 1 || msgs[0].Text != "Checked in" || len(msgs[0].Blocks) != 0 || !msgs[0].ViaResponseURL {
		t.Errorf("replaced message: got %+v", msgs)
	}
	if _, err := env.emu.ClickButton(ctx, "UBOB", slackemu.MessageRef{Channel: "CGENERAL", TS: ts}, "checkin_open"); err == nil {
		t.Errorf("clicking a button that is gone: got no error")
	}
}

func TestModalSubmission(t *testing.T) {
	type submission struct {
		cb  slack.InteractionCallback
		ack chan any
	}
	subs := make(chan submission)
	triggers := make(chan string, 1)
	env := mustStart(t, slackemu.Options{}, func(sm *socketmode.Client, evt socketmode.Event) {
		switch d := evt.Data.(type) {
		case slack.SlashCommand:
			triggers <- d.TriggerID
			_ = sm.Ack(*evt.Request)
		case slack.InteractionCallback:
			s := submission{cb: d, ack: make(chan any)}
			subs <- s
			_ = sm.Ack(*evt.Request, <-s.ack)
		}
	})
	addPeople(env.emu)
	ctx := testCtx(t)
	if _, err := env.emu.SlashCommand(ctx, "UALICE", "CGENERAL", "/okr", "new"); err != nil {
		t.Fatal(err)
	}
	modal := slack.ModalViewRequest{
		Type: slack.VTModal, Title: plain("New objective"), Submit: plain("Save"), Close: plain("Cancel"),
		CallbackID: "objective_new", PrivateMetadata: `{"team":"core"}`,
		Blocks: slack.Blocks{BlockSet: []slack.Block{
			slack.NewInputBlock("title", plain("Title"), nil, slack.NewPlainTextInputBlockElement(plain("What do you want to achieve?"), "title_input")),
			slack.NewInputBlock("target", plain("Target"), nil, slack.NewNumberInputBlockElement(nil, "target_input", true)),
			slack.NewInputBlock("quarter", plain("Quarter"), nil, slack.NewOptionsSelectBlockElement("static_select", plain("Pick"), "quarter_select",
				slack.NewOptionBlockObject("2027Q1", plain("Q1 2027"), nil), slack.NewOptionBlockObject("2027Q2", plain("Q2 2027"), nil))),
			slack.NewInputBlock("owner", plain("Owner"), nil, slack.NewOptionsSelectBlockElement("users_select", plain("Pick"), "owner_select")),
			slack.NewInputBlock("due", plain("Due"), nil, slack.NewDatePickerBlockElement("due_date")),
		}},
	}
	resp, err := env.api.OpenViewContext(ctx, <-triggers, modal)
	if err != nil {
		t.Fatal(err)
	}
	values := map[string]map[string]any{
		"title":   {"title_input": "Ship v1"},
		"target":  {"target_input": "42.5"},
		"quarter": {"quarter_select": slackemu.Option{Value: "2027Q2"}},
		"owner":   {"owner_select": slackemu.UserSelect("UBOB")},
		"due":     {"due_date": slackemu.Date("2027-06-30")},
	}

	done := make(chan error, 1)
	go func() { _, err := env.emu.SubmitView(ctx, "UALICE", resp.View.ID, values); done <- err }()
	s := <-subs
	v := s.cb.View.State.Values
	if s.cb.Type != slack.InteractionTypeViewSubmission || s.cb.View.CallbackID != "objective_new" || s.cb.View.PrivateMetadata != `{"team":"core"}` ||
		v["title"]["title_input"].Value != "Ship v1" || v["target"]["target_input"].Value != "42.5" ||
		v["quarter"]["quarter_select"].SelectedOption.Value != "2027Q2" || v["owner"]["owner_select"].SelectedUser != "UBOB" ||
		v["due"]["due_date"].SelectedDate != "2027-06-30" || v["title"]["title_input"].Type != "plain_text_input" {
		t.Errorf("submission: got %+v", s.cb.View.State)
	}
	s.ack <- map[string]any{"response_action": "errors", "errors": map[string]string{"title": "Too vague"}}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if views := env.emu.OpenViews("UALICE"); len(views) != 1 {
		t.Fatalf("after errors: got %d open views, want 1", len(views))
	}

	go func() { _, err := env.emu.SubmitView(ctx, "UALICE", resp.View.ID, values); done <- err }()
	s = <-subs
	next := slack.ModalViewRequest{Type: slack.VTModal, Title: plain("Key results"), Submit: plain("Done"),
		Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewInputBlock("kr", plain("Key result"), nil, slack.NewPlainTextInputBlockElement(nil, "kr_input"))}}}
	s.ack <- slack.NewPushViewSubmissionResponse(&next)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	views := env.emu.OpenViews("UALICE")
	if len(views) != 2 || !strings.Contains(string(views[1].JSON), "Key results") {
		t.Fatalf("after push: got %+v", views)
	}

	go func() {
		_, err := env.emu.SubmitView(ctx, "UALICE", views[1].ID, map[string]map[string]any{"kr": {"kr_input": "p95 < 200ms"}})
		done <- err
	}()
	s = <-subs
	s.ack <- slack.NewClearViewSubmissionResponse()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if views := env.emu.OpenViews("UALICE"); len(views) != 0 {
		t.Errorf("after clear: got %d open views", len(views))
	}
	if _, err := env.emu.SubmitView(ctx, "UALICE", resp.View.ID, values); err == nil {
		t.Errorf("submitting a closed view: got no error")
	}
}

func TestViewsUpdatePushAndHome(t *testing.T) {
	triggers := make(chan string, 1)
	clicks := make(chan slack.InteractionCallback, 1)
	env := mustStart(t, slackemu.Options{}, func(sm *socketmode.Client, evt socketmode.Event) {
		_ = sm.Ack(*evt.Request)
		switch d := evt.Data.(type) {
		case slack.SlashCommand:
			triggers <- d.TriggerID
		case slack.InteractionCallback:
			clicks <- d
		}
	})
	addPeople(env.emu)
	ctx := testCtx(t)
	modal := func(title string) slack.ModalViewRequest {
		return slack.ModalViewRequest{Type: slack.VTModal, Title: plain(title), NotifyOnClose: true,
			Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(mrkdwn(title), nil, nil)}}}
	}
	if _, err := env.emu.SlashCommand(ctx, "UALICE", "CGENERAL", "/okr", ""); err != nil {
		t.Fatal(err)
	}
	first, err := env.api.OpenViewContext(ctx, <-triggers, modal("One"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := env.api.UpdateViewContext(ctx, modal("One bis"), "", "stale-hash", first.View.ID); slackErr(err) != "hash_conflict" {
		t.Errorf("stale hash: got %v", err)
	}
	upd, err := env.api.UpdateViewContext(ctx, modal("One bis"), "", first.View.Hash, first.View.ID)
	if err != nil || upd.View.ID != first.View.ID || upd.View.Hash == first.View.Hash {
		t.Fatalf("update: got %+v %v", upd, err)
	}
	for i := range 3 {
		if _, err := env.emu.SlashCommand(ctx, "UALICE", "CGENERAL", "/okr", ""); err != nil {
			t.Fatal(err)
		}
		_, err := env.api.PushViewContext(ctx, <-triggers, modal(fmt.Sprintf("Pushed %d", i)))
		if i < 2 && err != nil {
			t.Fatalf("push %d: %v", i, err)
		}
		if i == 2 && slackErr(err) != "push_limit_reached" {
			t.Errorf("fourth view: got %v, want push_limit_reached", err)
		}
	}
	views := env.emu.OpenViews("UALICE")
	if len(views) != 3 {
		t.Fatalf("stack: got %d views", len(views))
	}
	if _, err := env.emu.CloseView(ctx, "UALICE", views[2].ID); err != nil {
		t.Fatal(err)
	}
	if cb := <-clicks; cb.Type != slack.InteractionTypeViewClosed || cb.View.ID != views[2].ID {
		t.Errorf("view_closed: got %+v", cb)
	}
	if n := len(env.emu.OpenViews("UALICE")); n != 2 {
		t.Errorf("after close: got %d views", n)
	}

	home := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{
		slack.NewHeaderBlock(plain("Your OKRs")),
		slack.NewActionBlock("home_actions", slack.NewButtonBlockElement("home_new", "new", plain("New objective"))),
	}}}
	if _, err := env.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: "UALICE", View: home}); err != nil {
		t.Fatal(err)
	}
	hv, ok := env.emu.HomeView("UALICE")
	if !ok || hv.Type != "home" {
		t.Fatalf("home view: got %+v %v", hv, ok)
	}
	if _, err := env.emu.ClickHomeButton(ctx, "UALICE", "home_new"); err != nil {
		t.Fatal(err)
	}
	cb := <-clicks
	if cb.Container.Type != "view" || cb.View.ID != hv.ID || cb.ActionCallback.BlockActions[0].Value != "new" {
		t.Errorf("home click: got %+v", cb)
	}
	var sb strings.Builder
	env.emu.WriteTranscript(&sb)
	for _, want := range []string{"home of @alice", "*Your OKRs*", "[New objective]", "modal for @alice", "« One bis »"} {
		if !strings.Contains(sb.String(), want) {
			t.Errorf("transcript lacks %q:\n%s", want, sb.String())
		}
	}
}

func TestWaitForWakesOnChange(t *testing.T) {
	emu := slackemu.New(slackemu.Options{})
	defer emu.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- emu.WaitFor(ctx, func() bool {
			_, ok := emu.HomeView("UX")
			return len(emu.Messages("C1")) == 0 && !ok && emu.Calls("auth.test") > 0
		})
	}()
	api := slack.New(emu.BotToken(), slack.OptionAPIURL(emu.APIURL()))
	if _, err := api.AuthTestContext(ctx); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

func TestSelectOptionAndInChannelAck(t *testing.T) {
	actions := make(chan slack.InteractionCallback, 1)
	env := mustStart(t, slackemu.Options{}, func(sm *socketmode.Client, evt socketmode.Event) {
		switch d := evt.Data.(type) {
		case slack.SlashCommand:
			_ = sm.Ack(*evt.Request, map[string]any{"response_type": "in_channel", "text": "Everyone: " + d.Text})
		case slack.InteractionCallback:
			_ = sm.Ack(*evt.Request)
			actions <- d
		}
	})
	addPeople(env.emu)
	ctx := testCtx(t)
	if _, err := env.emu.SlashCommand(ctx, "UALICE", "CGENERAL", "/okr", "hello"); err != nil {
		t.Fatal(err)
	}
	if msgs := env.emu.Messages("CGENERAL"); len(msgs) != 1 || msgs[0].Text != "Everyone: hello" {
		t.Errorf("in_channel ack: got %+v", msgs)
	}
	sel := slack.NewOptionsSelectBlockElement("static_select", plain("Confidence"), "confidence",
		slack.NewOptionBlockObject("low", plain("Low"), nil), slack.NewOptionBlockObject("high", plain("High"), nil))
	_, ts, err := env.api.PostMessageContext(ctx, "UALICE", slack.MsgOptionBlocks(
		slack.NewSectionBlock(mrkdwn("How confident are you?"), nil, slack.NewAccessory(sel))))
	if err != nil {
		t.Fatal(err)
	}
	im := env.emu.IMChannel("UALICE")
	if _, err := env.emu.SelectOption(ctx, "UALICE", slackemu.MessageRef{Channel: im, TS: ts}, "confidence", "high"); err != nil {
		t.Fatal(err)
	}
	a := (<-actions).ActionCallback.BlockActions[0]
	if a.SelectedOption.Value != "high" || a.SelectedOption.Text.Text != "High" || a.Type != "static_select" {
		t.Errorf("select: got %+v", a)
	}
	if _, err := env.emu.SelectOption(ctx, "UALICE", slackemu.MessageRef{Channel: im, TS: ts}, "confidence", "none"); err == nil {
		t.Errorf("unknown option: got no error")
	}
}

func TestRepeatedActionIDs(t *testing.T) {
	actions := make(chan slack.BlockAction, 1)
	env := mustStart(t, slackemu.Options{}, func(sm *socketmode.Client, evt socketmode.Event) {
		_ = sm.Ack(*evt.Request)
		if cb, ok := evt.Data.(slack.InteractionCallback); ok && len(cb.ActionCallback.BlockActions) == 1 {
			actions <- *cb.ActionCallback.BlockActions[0]
		}
	})
	addPeople(env.emu)
	ctx := testCtx(t)

	// One History button per row, all with the same action_id.
	row := func(id string) slack.Block {
		return slack.NewSectionBlock(mrkdwn("Row "+id), nil,
			slack.NewAccessory(slack.NewButtonBlockElement("history", id, plain("History"))),
			slack.SectionBlockOptionBlockID("row_"+id))
	}
	home := slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: []slack.Block{row("1"), row("2")}}}
	if _, err := env.api.PublishViewContext(ctx, slack.PublishViewContextRequest{UserID: "UALICE", View: home}); err != nil {
		t.Fatal(err)
	}
	hv, _ := env.emu.HomeView("UALICE")
	if _, err := env.emu.ClickViewBlockButton(ctx, "UALICE", hv.ID, "row_2", "history"); err != nil {
		t.Fatal(err)
	}
	if a := <-actions; a.Value != "2" || a.BlockID != "row_2" {
		t.Errorf("click in row_2: got value %q in block %q, want 2 in row_2", a.Value, a.BlockID)
	}
	if _, err := env.emu.ClickViewBlockButton(ctx, "UALICE", hv.ID, "row_3", "history"); err == nil {
		t.Error("click in a block that does not exist: got no error")
	}

	// One select per section, all with the same action_id: the value says which.
	pick := func(values ...string) slack.Block {
		var opts []*slack.OptionBlockObject
		for _, v := range values {
			opts = append(opts, slack.NewOptionBlockObject(v, plain("Option "+v), nil))
		}
		sel := slack.NewOptionsSelectBlockElement("static_select", plain("History…"), "pick", opts...)
		return slack.NewSectionBlock(mrkdwn("Pick"), nil, slack.NewAccessory(sel))
	}
	_, ts, err := env.api.PostMessageContext(ctx, "UALICE", slack.MsgOptionBlocks(pick("a", "b"), pick("c")))
	if err != nil {
		t.Fatal(err)
	}
	ref := slackemu.MessageRef{Channel: env.emu.IMChannel("UALICE"), TS: ts}
	if _, err := env.emu.SelectOption(ctx, "UALICE", ref, "pick", "c"); err != nil {
		t.Fatal(err)
	}
	if a := <-actions; a.SelectedOption.Value != "c" || a.SelectedOption.Text.Text != "Option c" {
		t.Errorf("select c: got %+v", a.SelectedOption)
	}
	if _, err := env.emu.SelectOption(ctx, "UALICE", ref, "pick", "z"); err == nil || !strings.Contains(err.Error(), `no option "z"`) {
		t.Errorf("an option no select has: got %v", err)
	}
}

func TestForgetClosedViews(t *testing.T) {
	for _, forget := range []bool{false, true} {
		t.Run(fmt.Sprintf("forget=%v", forget), func(t *testing.T) {
			triggers := make(chan string, 1)
			env := mustStart(t, slackemu.Options{ForgetClosedViews: forget}, func(sm *socketmode.Client, evt socketmode.Event) {
				_ = sm.Ack(*evt.Request)
				if d, ok := evt.Data.(slack.SlashCommand); ok {
					triggers <- d.TriggerID
				}
			})
			addPeople(env.emu)
			ctx := testCtx(t)
			if _, err := env.emu.SlashCommand(ctx, "UALICE", "CGENERAL", "/okr", ""); err != nil {
				t.Fatal(err)
			}
			modal := slack.ModalViewRequest{Type: slack.VTModal, Title: plain("One"),
				Blocks: slack.Blocks{BlockSet: []slack.Block{slack.NewSectionBlock(mrkdwn("One"), nil, nil)}}}
			opened, err := env.api.OpenViewContext(ctx, <-triggers, modal)
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := env.emu.ViewByID(opened.View.ID); !ok {
				t.Fatal("open modal not found")
			}
			if _, err := env.emu.CloseView(ctx, "UALICE", opened.View.ID); err != nil {
				t.Fatal(err)
			}
			v, ok := env.emu.ViewByID(opened.View.ID)
			if ok == forget || (ok && !v.Closed) {
				t.Errorf("closed modal: found %v (closed %v), want found %v", ok, v.Closed, !forget)
			}
			if _, err := env.api.UpdateViewContext(ctx, modal, "", "", opened.View.ID); slackErr(err) != "not_found" {
				t.Errorf("update of a closed modal: got %v, want not_found", err)
			}
		})
	}
}

func TestHoldEnvelopes(t *testing.T) {
	var got atomic.Int32
	env := mustStart(t, slackemu.Options{}, func(sm *socketmode.Client, evt socketmode.Event) {
		got.Add(1)
		_ = sm.Ack(*evt.Request)
	})
	addPeople(env.emu)
	ctx := testCtx(t)
	held, release := env.emu.HoldEnvelopes()
	const n = 3
	errs := make(chan error, n)
	for range n {
		go func() {
			_, err := env.emu.SlashCommand(ctx, "UALICE", "CGENERAL", "/okr", "help")
			errs <- err
		}()
	}
	if err := env.emu.WaitFor(ctx, func() bool { return held() == n }); err != nil {
		t.Fatalf("%d envelopes held, want %d: %v", held(), n, err)
	}
	time.Sleep(50 * time.Millisecond) // a held envelope would have reached the app by now
	if g := got.Load(); g != 0 {
		t.Fatalf("the app got %d envelopes while they were held, want 0", g)
	}
	release()
	for range n {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	if g := got.Load(); g != n {
		t.Errorf("after release the app got %d envelopes, want %d", g, n)
	}
	// Released, the emulator delivers at once again.
	if _, err := env.emu.SlashCommand(ctx, "UALICE", "CGENERAL", "/okr", "help"); err != nil || got.Load() != n+1 {
		t.Errorf("after release: %v, %d envelopes, want %d", err, got.Load(), n+1)
	}
}
