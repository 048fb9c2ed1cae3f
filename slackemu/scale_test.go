package slackemu_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/okrbot/okrbot/slackemu"
)

// newWebAPI starts an emulator without Socket Mode and a slack-go client for it.
func newWebAPI(tb testing.TB, opts slackemu.Options) (*slackemu.Server, *slack.Client) {
	tb.Helper()
	emu := slackemu.New(opts)
	tb.Cleanup(emu.Close)
	hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	return emu, slack.New(emu.BotToken(), slack.OptionAPIURL(emu.APIURL()), slack.OptionHTTPClient(hc))
}

func TestMetadataAndHistory(t *testing.T) {
	emu, api := newWebAPI(t, slackemu.Options{})
	addPeople(emu)
	emu.AddChannel(slackemu.Channel{ID: "CTEAM", Name: "team", Members: []string{"UALICE", "UBOT"}})
	ctx := testCtx(t)

	meta := slack.SlackMetadata{EventType: "checkin_sent", EventPayload: map[string]any{"cycle": "2027-Q1", "n": 1}}
	blocks := slack.MsgOptionBlocks(slack.NewSectionBlock(mrkdwn("How is *Ship v1* going?"), nil, nil))
	im, first, err := api.PostMessageContext(ctx, "UALICE", slack.MsgOptionText("Check-in", false), blocks, slack.MsgOptionMetadata(meta))
	if err != nil {
		t.Fatal(err)
	}
	dm := emu.DM("UALICE")
	if len(dm) != 1 || !strings.Contains(string(dm[0].Metadata), `"event_type":"checkin_sent"`) ||
		!strings.Contains(string(dm[0].Metadata), `"cycle":"2027-Q1"`) {
		t.Fatalf("stored metadata: got %+v", dm)
	}
	if _, _, err := api.PostMessageContext(ctx, im, slack.MsgOptionText("reply", false), slack.MsgOptionTS(first)); err != nil {
		t.Fatal(err)
	}
	_, gone, err := api.PostMessageContext(ctx, im, slack.MsgOptionText("to be deleted", false))
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := api.DeleteMessageContext(ctx, im, gone); err != nil {
		t.Fatal(err)
	}
	_, last, err := api.PostMessageContext(ctx, im, slack.MsgOptionText("plain", false))
	if err != nil {
		t.Fatal(err)
	}
	meta2 := slack.SlackMetadata{EventType: "checkin_answered", EventPayload: map[string]any{"n": 2}}
	if _, _, _, err := api.UpdateMessageContext(ctx, im, first, slack.MsgOptionText("Check-in (done)", false), blocks,
		slack.MsgOptionMetadata(meta2)); err != nil {
		t.Fatal(err)
	}

	h, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: im, IncludeAllMetadata: true})
	if err != nil {
		t.Fatal(err)
	}
	// Newest first; no thread reply, no deleted message.
	if len(h.Messages) != 2 || h.Messages[0].Timestamp != last || h.Messages[1].Timestamp != first || h.HasMore {
		t.Fatalf("history: got %+v", h)
	}
	m := h.Messages[1]
	if m.User != "UBOT" || m.BotID == "" || m.Text != "Check-in (done)" || len(m.Blocks.BlockSet) != 1 ||
		m.Metadata.EventType != "checkin_answered" || m.Metadata.EventPayload["n"] != float64(2) ||
		m.ThreadTimestamp != first || m.ReplyCount != 1 {
		t.Errorf("history message: got %+v", m.Msg)
	}
	if h.Messages[0].Metadata.EventType != "" {
		t.Errorf("message without metadata: got %+v", h.Messages[0].Metadata)
	}
	h, err = api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: im})
	if err != nil || h.Messages[1].Metadata.EventType != "" {
		t.Errorf("without include_all_metadata: got %+v %v", h, err)
	}

	// Pagination, oldest/latest/inclusive.
	var tss []string
	for i := range 25 {
		_, ts, err := api.PostMessageContext(ctx, "CTEAM", slack.MsgOptionText(fmt.Sprintf("m%d", i), false))
		if err != nil {
			t.Fatal(err)
		}
		tss = append(tss, ts)
	}
	var got []string
	cursor, pages := "", 0
	for {
		h, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: "CTEAM", Limit: 10, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for _, m := range h.Messages {
			got = append(got, m.Timestamp)
		}
		if h.HasMore != (h.ResponseMetaData.NextCursor != "") {
			t.Errorf("has_more %v with cursor %q", h.HasMore, h.ResponseMetaData.NextCursor)
		}
		cursor = h.ResponseMetaData.NextCursor
		if cursor == "" {
			break
		}
	}
	if pages != 3 || len(got) != 25 || got[0] != tss[24] || got[24] != tss[0] {
		t.Errorf("paged history: %d pages, %v", pages, got)
	}
	for _, tc := range []struct {
		inclusive bool
		want      int
	}{{true, 6}, {false, 4}} {
		h, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{
			ChannelID: "CTEAM", Oldest: tss[5], Latest: tss[10], Inclusive: tc.inclusive})
		if err != nil || len(h.Messages) != tc.want {
			t.Errorf("oldest/latest inclusive=%v: got %d messages, %v", tc.inclusive, len(h.Messages), err)
		}
	}
	h, err = api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: "CTEAM", Oldest: tss[20]})
	if err != nil || len(h.Messages) != 4 || h.Messages[0].Timestamp != tss[24] {
		t.Errorf("oldest only: got %+v %v", h, err)
	}

	for _, tc := range []struct{ channel, want string }{
		{"CNOPE", "channel_not_found"},
		{"CSECRET", "channel_not_found"}, // private, bot not a member
		{"CGENERAL", "not_in_channel"},   // public, bot not a member
		{"UALICE", "channel_not_found"},  // a user ID is no conversation ID
	} {
		if _, err := api.GetConversationHistoryContext(ctx, &slack.GetConversationHistoryParameters{ChannelID: tc.channel}); slackErr(err) != tc.want {
			t.Errorf("history of %s: got %v, want %s", tc.channel, err, tc.want)
		}
	}
	if _, _, err := api.PostMessageContext(ctx, "CTEAM", slack.MsgOptionText("x", false),
		slack.MsgOptionMetadata(slack.SlackMetadata{})); slackErr(err) != "invalid_metadata_schema" {
		t.Errorf("empty metadata: got %v", err)
	}
	if got := emu.CountPosts("CTEAM"); got != 25 {
		t.Errorf("CountPosts(CTEAM) = %d", got)
	}
	if got, want := emu.CountPosts("UALICE"), 4; got != want || emu.CountPosts(im) != want {
		t.Errorf("CountPosts(UALICE) = %d, want %d", got, want)
	}
	if got := emu.CountPosts(""); got != 29 {
		t.Errorf("CountPosts(\"\") = %d", got)
	}
}

func addUsers(emu *slackemu.Server, n int) []string {
	ids := make([]string, n)
	for i := range n {
		ids[i] = fmt.Sprintf("U%06d", i)
		emu.AddUser(slackemu.User{ID: ids[i], Name: fmt.Sprintf("user%d", i), TZ: "Europe/Berlin"})
	}
	return ids
}

func TestUsersListPagination(t *testing.T) {
	emu, api := newWebAPI(t, slackemu.Options{})
	addUsers(emu, 2500)
	ctx := testCtx(t)
	users, err := api.GetUsersContext(ctx) // pages of 200 until next_cursor is empty
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, u := range users {
		seen[u.ID] = true
	}
	if len(users) != 2501 || len(seen) != 2501 || users[0].ID != "UBOT" || users[2500].ID != "U002499" {
		t.Fatalf("got %d users (%d distinct)", len(users), len(seen))
	}
	if got := emu.Calls("users.list"); got != 13 {
		t.Errorf("users.list calls: got %d, want 13", got)
	}
	p, err := api.GetUsersPaginated(slack.GetUsersOptionLimit(5000)).Next(ctx)
	if err != nil || len(p.Users) != 1000 {
		t.Fatalf("limit 5000: got %d users, %v", len(p.Users), err)
	}
	if dec, _ := base64.StdEncoding.DecodeString(p.Cursor); string(dec) != "user:U000999" {
		t.Errorf("cursor: got %q (%s)", p.Cursor, dec)
	}
	if _, err := api.GetUsersPaginated(slack.GetUsersOptionCursor("bogus")).Next(ctx); slackErr(err) != "invalid_cursor" {
		t.Errorf("bad cursor: got %v", err)
	}
}

// TestUsersListRateLimited: a 429 in the middle of paging users.list is
// waited out and retried by slack-go's GetUsersContext, which still returns
// everyone. The 429 is injected, so the test does not race the real-time
// token bucket (whose refill timing ratelimit_internal_test.go checks).
func TestUsersListRateLimited(t *testing.T) {
	emu, api := newWebAPI(t, slackemu.Options{RateLimits: true})
	addUsers(emu, 2500)
	ctx := testCtx(t)
	emu.InjectErrors("users.list", http.StatusTooManyRequests, 1)
	users, err := api.GetUsersContext(ctx, slack.GetUsersOptionLimit(1000))
	if err != nil || len(users) != 2501 {
		t.Fatalf("got %d users, %v", len(users), err)
	}
	if got := emu.RateLimited("users.list"); got != 1 {
		t.Errorf("RateLimited(users.list) = %d, want 1", got)
	}
	if got := emu.Calls("users.list"); got != 4 {
		t.Errorf("users.list calls: got %d, want 4 (3 pages and the retry)", got)
	}
	if emu.RateLimited("users.info") != 0 {
		t.Errorf("users.info was never limited")
	}
}

func TestRetryAfterReflectsRefill(t *testing.T) {
	emu, api := newWebAPI(t, slackemu.Options{RateLimits: true})
	addPeople(emu)
	ctx := testCtx(t)
	// chat.postMessage per channel: burst 5, then one per second.
	var rl *slack.RateLimitedError
	for i := range 6 {
		_, _, err := api.PostMessageContext(ctx, "CGENERAL", slack.MsgOptionText("x", false))
		if i < 5 && err != nil {
			t.Fatalf("post %d: %v", i, err)
		}
		if i == 5 && !errors.As(err, &rl) {
			t.Fatalf("post %d: got %v, want rate limited", i, err)
		}
	}
	if rl.RetryAfter != time.Second {
		t.Errorf("Retry-After: got %v, want 1s", rl.RetryAfter)
	}
	if got := emu.RateLimited("chat.postMessage"); got != 1 {
		t.Errorf("RateLimited = %d", got)
	}
	// Honouring Retry-After is enough: the next attempt goes through.
	retry := slack.New(emu.BotToken(), slack.OptionAPIURL(emu.APIURL()), slack.OptionRetry(1))
	if _, _, err := retry.PostMessageContext(ctx, "CGENERAL", slack.MsgOptionText("x", false)); err != nil {
		t.Errorf("after Retry-After: %v", err)
	}
	if got := emu.RateLimited("chat.postMessage"); got != 2 {
		t.Errorf("RateLimited = %d, want 2", got)
	}
}

// TestManyDMs: a large workspace and one DM to every member, concurrently.
func TestManyDMs(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 2000
	}
	emu, api := newWebAPI(t, slackemu.Options{})
	start := time.Now()
	ids := addUsers(emu, n)
	added := time.Since(start)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	waited := make(chan error, 1)
	go func() { waited <- emu.WaitFor(ctx, func() bool { return emu.CountPosts("") == n }) }()

	start = time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				if _, _, err := api.PostMessageContext(ctx, ids[i], slack.MsgOptionText(fmt.Sprintf("Hi <@%s>", ids[i]), false)); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if err := <-waited; err != nil {
		t.Fatal(err)
	}
	posted := time.Since(start)
	t.Logf("%d users added in %v; %d DMs in %v (%.0f/s)", n, added, n, posted, float64(n)/posted.Seconds())

	for _, i := range []int{0, n / 2, n - 1} {
		dm := emu.DM(ids[i])
		if len(dm) != 1 || dm[0].Text != "Hi <@"+ids[i]+">" || emu.CountPosts(ids[i]) != 1 {
			t.Errorf("DM %s: got %+v", ids[i], dm)
		}
	}
	tr := emu.Transcript()
	if len(tr) != n || !strings.HasPrefix(tr[0].Where, "DM @user") || !strings.HasPrefix(tr[0].Text, "Hi @user") {
		t.Errorf("transcript: %d entries, first %+v", len(tr), tr[0])
	}
}

func TestNoTranscript(t *testing.T) {
	emu, api := newWebAPI(t, slackemu.Options{NoTranscript: true})
	addPeople(emu)
	if _, _, err := api.PostMessageContext(testCtx(t), "UALICE", slack.MsgOptionText("hi", false)); err != nil {
		t.Fatal(err)
	}
	if len(emu.Transcript()) != 0 || len(emu.DM("UALICE")) != 1 {
		t.Errorf("transcript %v, DM %v", emu.Transcript(), emu.DM("UALICE"))
	}
}

// BenchmarkPostMessageDM: 10,000 users; each op is one chat.postMessage with
// channel=<user ID> through slack-go, 16 clients in parallel, rate limits off.
func BenchmarkPostMessageDM(b *testing.B) {
	for _, noTranscript := range []bool{false, true} {
		b.Run(fmt.Sprintf("NoTranscript=%v", noTranscript), func(b *testing.B) {
			emu, api := newWebAPI(b, slackemu.Options{NoTranscript: noTranscript})
			ids := addUsers(emu, 10000)
			blocks, _ := json.Marshal([]any{map[string]any{"type": "section", "text": map[string]any{"type": "mrkdwn", "text": "How is *Ship v1* going?"}}})
			var bs slack.Blocks
			_ = json.Unmarshal(blocks, &bs)
			ctx := context.Background()
			var next atomic.Int64
			b.SetParallelism(max(1, 16/runtime.GOMAXPROCS(0))) // 16 goroutines
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					i := int(next.Add(1)) % len(ids)
					if _, _, err := api.PostMessageContext(ctx, ids[i], slack.MsgOptionText("Check-in", false),
						slack.MsgOptionBlocks(bs.BlockSet...)); err != nil {
						b.Error(err)
						return
					}
				}
			})
			b.StopTimer()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "DMs/s")
		})
	}
}
