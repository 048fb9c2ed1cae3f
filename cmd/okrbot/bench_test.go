package main

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"runtime/debug"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/okrbot/okrbot/okr"
	"github.com/okrbot/okrbot/slackemu"
)

// A round of the ack benchmark: benchRound concurrent interactions, one per
// emulator user, so that no two of them share a modal stack.
const (
	benchRound        = 100
	benchSlashReplies = 30 // /okr list, /okr help and /okr, answered through the response URL
	benchSlashModals  = 30 // /okr new, which opens a modal after the ack
	benchValid        = 20 // new-objective submissions saved to Postgres before the ack
	benchInvalid      = benchRound - benchSlashReplies - benchSlashModals - benchValid
)

// benchKind is what one interaction of a round does.
type benchKind int

const (
	slashReply benchKind = iota
	slashModal
	submitValid
	submitInvalid
)

// benchInteraction is one interaction of a round.
type benchInteraction struct {
	kind   benchKind
	user   string
	text   string        // the slash command's text
	view   slackemu.View // the modal submitted
	values values        // what is submitted
	// ephemerals is how many ephemerals the user had before the round.
	ephemerals int
}

// BenchmarkAckLatency measures how long okrbot takes to ack slash commands
// and view submissions while benchRound of them arrive at once. okrbot runs
// as a process of its own (mustStartChild), the emulator in this one. Each
// iteration is one round over the real Socket Mode websockets: slash
// commands that reply, /okr new (which opens a modal), and new-objective
// submissions with three key results, valid ones written to Postgres inside
// the ack and invalid ones acked with errors. Latency is the emulator's
// Ack.Latency, from writing the envelope to reading the ack; the emulator
// builds a round's envelopes before it lets them go. Opening the modals to
// submit and waiting for the bot's follow-ups after a round are not timed,
// so rounds do not overlap. ACK_ROUNDS=1 logs each round's latencies.
//
//	go test -run '^$' -bench AckLatency -benchtime 20x ./cmd/okrbot/
func BenchmarkAckLatency(b *testing.B) {
	// The emulator is Slack: it forgets closed modals and collects garbage
	// seldom, so that its own upkeep competes little with the bot for the
	// cores the two share here.
	defer debug.SetGCPercent(debug.SetGCPercent(400))
	h := mustStartChild(b, slackemu.Options{NoTranscript: true, ForgetClosedViews: true})
	users := h.withBenchTeam(b, benchRound)
	ctx := b.Context()

	var slash, submit []time.Duration
	var busy time.Duration
	round := 0
	play := func(record bool) {
		b.StopTimer()
		rd := h.prepareRound(b, ctx, users, round)
		b.StartTimer()
		start := time.Now()
		lat := h.playRound(b, ctx, rd)
		elapsed := time.Since(start)
		if record {
			if os.Getenv("ACK_ROUNDS") != "" {
				b.Logf("round %d: %v max %.1f ms p50 %.1f ms", round, elapsed.Round(time.Millisecond), latencyQuantile(lat, 1), latencyQuantile(lat, 0.5))
			}
			busy += elapsed
			for i, in := range rd {
				if in.kind == slashReply || in.kind == slashModal {
					slash = append(slash, lat[i])
				} else {
					submit = append(submit, lat[i])
				}
			}
		}
		b.StopTimer()
		h.drainRound(b, ctx, rd)
		b.StartTimer()
		round++
	}

	play(false) // warm up: connection pools, caches, first queries
	for b.Loop() {
		play(true)
	}

	for _, m := range []struct {
		name string
		d    []time.Duration
	}{{"slash", slash}, {"view", submit}} {
		b.ReportMetric(latencyQuantile(m.d, 0.50), m.name+"-p50-ms")
		b.ReportMetric(latencyQuantile(m.d, 0.99), m.name+"-p99-ms")
		b.ReportMetric(latencyQuantile(m.d, 1), m.name+"-max-ms")
	}
	if busy > 0 {
		b.ReportMetric(float64(len(slash)+len(submit))/busy.Seconds(), "interactions/s")
	}
}

// withBenchTeam creates the Platform team in the demo channel, adds n people
// to the workspace, the channel and the team, and gives the team a few
// objectives this quarter so that lists and the modal's parent select have
// something in them. It returns the people's IDs.
func (h *harness) withBenchTeam(tb testing.TB, n int) []string {
	tb.Helper()
	h.withTeam(tb)
	users := make([]string, n)
	members := []string{alice, bob, chen, dana, h.emu.BotUserID()}
	for i := range users {
		users[i] = fmt.Sprintf("U0B%03d", i)
		h.emu.AddUser(slackemu.User{ID: users[i], Name: fmt.Sprintf("bench%03d", i), TZ: "UTC"})
		members = append(members, users[i])
	}
	h.emu.AddChannel(slackemu.Channel{ID: demoChannel, Name: "platform", Members: members})
	for batch := range slices.Chunk(users, 10) {
		var mentions []string
		for _, u := range batch {
			mentions = append(mentions, "<@"+u+">")
		}
		mustContain(tb, h.slash(tb, alice, "team add "+strings.Join(mentions, " ")), "Added")
	}
	for i := range 5 {
		v := goodObjective()
		v["title"] = fmt.Sprintf("Seed objective %d", i+1)
		view := h.newObjectiveModal(tb, alice, 3)
		before := h.p.seen(alice, demoChannel)
		if errs := h.submitErrors(tb, alice, view, v); errs != nil {
			tb.Fatalf("seed objective refused: %v", errs)
		}
		if _, err := h.p.nextMessage(context.Background(), alice, demoChannel, before); err != nil {
			tb.Fatal(err)
		}
	}
	return users
}

// prepareRound opens the modals the round submits and returns the round's
// interactions in a shuffled order. Valid submissions are for next quarter,
// so what lists and modals show stays the same from round to round.
func (h *harness) prepareRound(tb testing.TB, ctx context.Context, users []string, round int) []benchInteraction {
	tb.Helper()
	next := okr.QuarterOf(timeNowUTC(), 1).Next().Label()
	replies := []string{"list", "help", ""}
	invalid := []values{
		{"title": "   "},                     // checked before any query
		{"kr1_target": "12"},                 // equal to the start
		{"owner": slackemu.UserSelect(dana)}, // not in the team: a query says so
	}
	rd := make([]benchInteraction, len(users))
	for i, u := range users {
		in := benchInteraction{user: u}
		switch {
		case i < benchSlashReplies:
			in.kind, in.text = slashReply, replies[i%len(replies)]
		case i < benchSlashReplies+benchSlashModals:
			in.kind, in.text = slashModal, "new"
		case i < benchSlashReplies+benchSlashModals+benchValid:
			in.kind = submitValid
			in.values = goodObjective()
			in.values["title"] = fmt.Sprintf("Bench objective %d of %s", round, u)
			in.values["owner"] = slackemu.UserSelect(u)
			in.values["period"] = next
		default:
			in.kind = submitInvalid
			in.values = goodObjective().with(values{"owner": slackemu.UserSelect(u)}).with(invalid[i%len(invalid)])
		}
		rd[i] = in
	}

	var wg sync.WaitGroup
	errs := make([]error, len(rd))
	for i := range rd {
		if rd[i].kind != submitValid && rd[i].kind != submitInvalid {
			continue
		}
		wg.Go(func() {
			rd[i].view, errs[i] = h.p.newObjectiveModal(ctx, rd[i].user, demoChannel, 3)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			tb.Fatal(err)
		}
	}
	for i := range rd {
		rd[i].ephemerals = len(h.emu.Ephemerals(rd[i].user))
	}
	r := rand.New(rand.NewPCG(1, uint64(round)))
	r.Shuffle(len(rd), func(i, j int) { rd[i], rd[j] = rd[j], rd[i] })
	return rd
}

// playRound sends every interaction of the round at once and returns the
// latency of each ack, in the round's order. The emulator builds all the
// envelopes first and holds them, then lets them go together: building
// them is Slack's work, not the bot's, and stays out of the latencies.
func (h *harness) playRound(tb testing.TB, ctx context.Context, rd []benchInteraction) []time.Duration {
	tb.Helper()
	lat := make([]time.Duration, len(rd))
	errs := make([]error, len(rd))
	held, release := h.emu.HoldEnvelopes()
	defer release()
	var wg sync.WaitGroup
	for i := range rd {
		wg.Go(func() {
			lat[i], errs[i] = h.interact(ctx, rd[i])
		})
	}
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	err := h.emu.WaitFor(wctx, func() bool { return held() >= len(rd) })
	cancel()
	if err != nil {
		tb.Fatalf("%d of %d envelopes built: %v", held(), len(rd), err)
	}
	release()
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			tb.Fatal(err)
		}
	}
	return lat
}

// interact sends one interaction and checks that its ack is the one expected.
func (h *harness) interact(ctx context.Context, in benchInteraction) (time.Duration, error) {
	if in.kind == slashReply || in.kind == slashModal {
		ack, err := h.emu.SlashCommand(ctx, in.user, demoChannel, "/okr", in.text)
		return ack.Latency, err
	}
	ack, err := h.emu.SubmitView(ctx, in.user, in.view.ID, in.values.form())
	if err != nil {
		return 0, err
	}
	var resp struct {
		ResponseAction string            `json:"response_action"`
		Errors         map[string]string `json:"errors"`
	}
	if len(ack.Payload) > 0 {
		if err := json.Unmarshal(ack.Payload, &resp); err != nil {
			return 0, fmt.Errorf("ack payload %s: %w", ack.Payload, err)
		}
	}
	switch {
	case in.kind == submitValid && resp.ResponseAction != "clear":
		return 0, fmt.Errorf("valid submission by %s: got ack %s, want response_action clear", in.user, ack.Payload)
	case in.kind == submitInvalid && resp.ResponseAction != "errors":
		return 0, fmt.Errorf("invalid submission by %s: got ack %s, want response_action errors", in.user, ack.Payload)
	}
	return ack.Latency, nil
}

// drainRound waits for the bot's follow-ups to the round (replies,
// confirmations, modals opened) and closes every modal left open.
func (h *harness) drainRound(tb testing.TB, ctx context.Context, rd []benchInteraction) {
	tb.Helper()
	wctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	pending := ""
	err := h.emu.WaitFor(wctx, func() bool {
		for _, in := range rd {
			switch in.kind {
			case slashReply, submitValid:
				if len(h.emu.Ephemerals(in.user)) <= in.ephemerals {
					pending = in.user + " got no reply"
					return false
				}
			case slashModal:
				if len(h.emu.OpenViews(in.user)) == 0 {
					pending = in.user + " got no modal"
					return false
				}
			}
		}
		return true
	})
	if err != nil {
		tb.Fatalf("follow-ups of the round did not arrive: %s: %v", pending, err)
	}
	for _, in := range rd {
		for _, v := range h.emu.OpenViews(in.user) {
			if _, err := h.emu.CloseView(ctx, in.user, v.ID); err != nil {
				tb.Fatal(err)
			}
		}
	}
}

// latencyQuantile returns the q-quantile of ds in milliseconds, by the
// nearest-rank method (q = 1 is the maximum).
func latencyQuantile(ds []time.Duration, q float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	i = max(0, min(i, len(s)-1))
	return float64(s[i]) / float64(time.Millisecond)
}
