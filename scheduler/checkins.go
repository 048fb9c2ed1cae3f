package scheduler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/okrbot/okrbot/okr"
)

// CheckinStore is what check-in delivery needs of the database. Claims are
// atomic: two replicas never hold the same check-in.
type CheckinStore interface {
	// CheckinRecipients returns, for every team, the people owed a check-in
	// (owners of key results of its active objectives in the periods open at
	// now, and of its KPIs), with their cached time zone and the team's schedule.
	CheckinRecipients(ctx context.Context, now time.Time) ([]okr.Recipient, error)
	// CreateCheckins stores scheduled check-ins, skipping any that exist for
	// the same team, person and cycle. It returns how many it created.
	CreateCheckins(ctx context.Context, cs []okr.Checkin) (int, error)
	// ClaimDueCheckins claims up to limit check-ins that are scheduled and
	// due at now (and not closed), or whose sender's claim expired, setting
	// them to sending with a claim by `by` until now+lease. A check-in taken
	// over from an expired claim comes back with Recovered set: its DM may
	// be out already.
	// Those in except are left alone.
	ClaimDueCheckins(ctx context.Context, now time.Time, by string, lease time.Duration, limit int, except ...int64) ([]okr.Checkin, error)
	// MarkCheckinSent records a delivered DM, if `by` still holds the claim.
	MarkCheckinSent(ctx context.Context, id int64, by, channel, ts string, at time.Time) error
	// RenewClaim extends `by`'s claim on a check-in being sent to until,
	// if nobody took it over; false when somebody did.
	RenewClaim(ctx context.Context, id int64, by string, until time.Time) (bool, error)
	// UnclaimCheckins gives back check-ins `by` claimed but never tried.
	UnclaimCheckins(ctx context.Context, ids []int64, by string) error
	// StartSending records that `by` is about to send claimed check-ins'
	// DMs, so a claim of them that expires is recovered from the DM history.
	StartSending(ctx context.Context, ids []int64, by string) error
	// MarkCheckinsSent records many delivered DMs in one statement and
	// returns the ids of those whose claim `by` no longer held.
	MarkCheckinsSent(ctx context.Context, sent []okr.SentDM, by string, at time.Time) ([]int64, error)
	// ReleaseCheckin returns a claimed check-in to scheduled, to try again.
	ReleaseCheckin(ctx context.Context, id int64, by, reason string) error
	// SetCheckinState ends a claimed or open check-in in a final state
	// (away, undeliverable) with a reason.
	SetCheckinState(ctx context.Context, id int64, state okr.CheckinState, reason string) error
	// ClaimReminders marks up to limit sent, unanswered check-ins whose
	// team's reminder delay has passed at now as reminded, and returns them.
	ClaimReminders(ctx context.Context, now time.Time, limit int) ([]okr.Checkin, error)
	// SetReminderTS records the reminder's message.
	SetReminderTS(ctx context.Context, id int64, ts string) error
	// CloseCheckins ends every check-in whose cycle closed at now: missed,
	// or away for someone away then. It returns them all.
	CloseCheckins(ctx context.Context, now time.Time) ([]okr.Checkin, error)
	// AwayUntil returns the last day a person is away, nil when not away.
	AwayUntil(ctx context.Context, userID string) (*time.Time, error)
	// UpsertSlackUsers caches what Slack says of people.
	UpsertSlackUsers(ctx context.Context, users []okr.SlackUser) error
}

// Messenger delivers check-ins in Slack. The bot implements it.
type Messenger interface {
	// SendCheckin DMs a person their check-in and returns the message. An
	// *okr.Error with code EUNDELIVERABLE means it can never be delivered.
	SendCheckin(ctx context.Context, c okr.Checkin) (channel, ts string, err error)
	// FindCheckinDM looks in the person's DM for the check-in's message, sent
	// by a sender that died before recording it.
	FindCheckinDM(ctx context.Context, c okr.Checkin) (channel, ts string, found bool, err error)
	// RemindCheckin nudges a person about an unanswered check-in.
	RemindCheckin(ctx context.Context, c okr.Checkin) (ts string, err error)
	// CloseCheckinDM updates a closed check-in's DM to say so.
	CloseCheckinDM(ctx context.Context, c okr.Checkin) error
	// SlackUsers lists every person of the workspace.
	SlackUsers(ctx context.Context) ([]okr.SlackUser, error)
	// SlackUser returns what Slack says of one person.
	SlackUser(ctx context.Context, id string) (okr.SlackUser, error)

	AlertMessenger
	ReportMessenger
}

// checkinPreparer is a Messenger that loads what a batch of check-ins'
// DMs show at once, rather than one DM at a time; the func it returns
// forgets what it loaded.
type checkinPreparer interface {
	PrepareCheckins(ctx context.Context, cs []okr.Checkin) (forget func())
}

// Delivery settings.
const (
	// DefaultClaimLease is how long a sender holds a check-in unless
	// configured otherwise. A claim older than this is presumed dead and
	// recovered from the DM history.
	DefaultClaimLease = 2 * time.Minute
	// sendBatch is how many check-ins one claim takes: one per worker, so
	// a sender that dies leaves few started claims to recover (each
	// recovery looks in the DM history, at Slack's 50 look-ups a minute);
	// the next batch is loaded while one is sent, so small batches cost
	// no waiting.
	sendBatch = sendWorkers
	// sendWorkers bounds the DMs in flight.
	sendWorkers = 24
	// lookupsPerRound bounds users.info calls for people not cached yet;
	// the daily users.list sync caches everyone in bulk.
	lookupsPerRound = 50
)

// planned remembers which cycles this process already stored, so planning
// every minute does not rewrite them.
type planned struct {
	mu   sync.Mutex
	seen map[plannedKey]bool
}

type plannedKey struct {
	team int64
	user string
	date time.Time
}

// PlanCheckins stores the check-in of every recipient whose cycle is open at
// now (due and not closed), once. A cycle missed while okrbot was down is
// planned when it comes back, as long as it is still open.
func (s *Scheduler) PlanCheckins(ctx context.Context) error {
	now := s.clock.Now()
	rs, err := s.checkins.CheckinRecipients(ctx, now)
	if err != nil {
		return fmt.Errorf("scheduler: recipients: %w", err)
	}
	rs = s.learnTimeZones(ctx, rs)
	var fresh []okr.Checkin
	s.planned.mu.Lock()
	for _, r := range rs {
		loc := okr.SlackUser{TZ: r.TZ}.Location(s.loc)
		date, due := r.Schedule.CurrentCycle(now, loc)
		if !now.Before(due.Add(okr.CycleLength)) || due.Before(r.Since) {
			continue // closed, or due before they owned anything
		}
		k := plannedKey{r.TeamID, r.UserID, date}
		if s.planned.seen[k] {
			continue
		}
		s.planned.seen[k] = true
		fresh = append(fresh, okr.Checkin{TeamID: r.TeamID, UserID: r.UserID, CycleStart: date, DueAt: due, State: okr.Scheduled})
	}
	for k := range s.planned.seen {
		if now.Sub(k.date) > 9*24*time.Hour {
			delete(s.planned.seen, k)
		}
	}
	s.planned.mu.Unlock()
	if len(fresh) == 0 {
		return nil
	}
	n, err := s.checkins.CreateCheckins(ctx, fresh)
	if err != nil {
		s.planned.mu.Lock()
		for _, c := range fresh {
			delete(s.planned.seen, plannedKey{c.TeamID, c.UserID, c.CycleStart})
		}
		s.planned.mu.Unlock()
		return fmt.Errorf("scheduler: plan check-ins: %w", err)
	}
	if n > 0 {
		s.log.Info("check-ins planned", slog.Int("count", n))
	}
	return nil
}

// learnTimeZones looks up people whose time zone is not cached yet (a few
// per round) and returns the recipients whose time zone is known: nobody is
// planned at a guessed hour.
func (s *Scheduler) learnTimeZones(ctx context.Context, rs []okr.Recipient) []okr.Recipient {
	learned := map[string]okr.SlackUser{}
	var fetch []okr.SlackUser
	for _, r := range rs {
		if r.Known || len(learned) >= lookupsPerRound {
			continue
		}
		if _, done := learned[r.UserID]; done {
			continue
		}
		u, err := s.messenger.SlackUser(ctx, r.UserID)
		if err != nil {
			s.log.Warn("cannot look up a person's time zone; will retry", slog.String("user_id", r.UserID), slog.String("error", err.Error()))
			learned[r.UserID] = okr.SlackUser{ID: ""}
			continue
		}
		learned[r.UserID] = u
		fetch = append(fetch, u)
	}
	if len(fetch) > 0 {
		if err := s.checkins.UpsertSlackUsers(ctx, fetch); err != nil {
			s.log.Warn("cannot cache people", slog.String("error", err.Error()))
		}
	}
	known := rs[:0]
	for _, r := range rs {
		if !r.Known {
			u, ok := learned[r.UserID]
			if !ok || u.ID == "" {
				continue
			}
			r.TZ, r.Known = u.TZ, true
		}
		known = append(known, r)
	}
	return known
}

// outcomeUnknown reports whether a send got no answer, so it may have gone
// out (the messenger marks such errors with OutcomeUnknown).
func outcomeUnknown(err error) bool {
	var u interface{ OutcomeUnknown() bool }
	return errors.As(err, &u) && u.OutcomeUnknown()
}

// SendCheckins delivers every due check-in, a batch at a time, with bounded
// concurrency, until none is left or a whole batch failed (Slack is down:
// the next round tries again, rather than this one spinning). The next
// batch is claimed and loaded while the current one is sent, so the
// database and Slack work side by side.
func (s *Scheduler) SendCheckins(ctx context.Context) error {
	prep, _ := s.messenger.(checkinPreparer)
	// sent records the DMs that went out, and the check-ins given back
	// after a failed try since the last one that went out: while nothing
	// goes out, this round does not claim them again (the next round
	// tries them); once a DM goes out, they may be retried.
	sent := s.newSentLog(ctx)
	defer sent.close()
	type loaded struct {
		batch  []okr.Checkin
		forget func()
	}
	next := make(chan loaded) // unbuffered: one batch loaded ahead
	claimErr := make(chan error, 1)
	pctx, stop := context.WithCancel(ctx)
	producer := make(chan struct{})
	defer func() {
		stop()
		<-producer // what it claimed ahead is given back before the round ends
	}()
	go func() {
		defer close(producer)
		defer close(next)
		for pctx.Err() == nil {
			// Not cancelled mid-way: a claim cut off may still commit,
			// leaving check-ins claimed that nobody gives back.
			sent.claims.Lock()
			batch, err := s.checkins.ClaimDueCheckins(context.WithoutCancel(pctx), s.clock.Now(), s.id, s.lease, sendBatch, sent.ids()...)
			sent.claims.Unlock()
			if err != nil || len(batch) == 0 {
				claimErr <- err
				return
			}
			if pctx.Err() != nil {
				s.unclaim(batch)
				return
			}
			forget := func() {}
			if prep != nil {
				forget = prep.PrepareCheckins(pctx, batch)
			}
			select {
			case next <- loaded{batch, forget}:
			case <-pctx.Done():
				forget()
				s.unclaim(batch)
				return
			}
		}
	}()

	// Workers take DMs as they come, across batches: no batch waits for
	// the slowest DM of the one before. A batch's worth of DMs failing in
	// a row (Slack is down) stops the round: what is not tried yet is
	// given back for the next round, rather than this one spinning.
	var stalled atomic.Bool
	var failedInARow atomic.Int64
	work := make(chan delivery)
	var wg sync.WaitGroup
	for range sendWorkers {
		wg.Go(func() {
			for d := range work {
				final := s.deliver(ctx, d.c, sent)
				d.batch.done()
				if final {
					failedInARow.Store(0)
				} else if failedInARow.Add(1) == sendBatch {
					s.log.Warn("no check-in of a batch could be sent; retrying next round", slog.Int("batch", sendBatch))
					stalled.Store(true)
					stop()
				}
			}
		})
	}
	for b := range next {
		if stalled.Load() || ctx.Err() != nil {
			b.forget()
			s.unclaim(b.batch)
			continue
		}
		if err := s.startSending(ctx, b.batch); err != nil {
			s.log.Warn("cannot start sending a batch; retrying next round", slog.String("error", err.Error()))
			b.forget()
			s.unclaim(b.batch)
			stalled.Store(true)
			stop()
			continue
		}
		st := &batchState{forget: b.forget}
		st.remaining.Store(int64(len(b.batch)))
		for i, c := range b.batch {
			if stalled.Load() || ctx.Err() != nil {
				// Started but never tried: back to scheduled.
				for _, c := range b.batch[i:] {
					s.release(ctx, s.log.With(slog.Int64("checkin_id", c.ID)), c, "not sent: the round stopped")
				}
				st.skip(len(b.batch) - i)
				break
			}
			work <- delivery{c, st}
		}
	}
	close(work)
	wg.Wait()
	if stalled.Load() || ctx.Err() != nil {
		return ctx.Err()
	}
	select {
	case err := <-claimErr:
		if err != nil && ctx.Err() == nil {
			return fmt.Errorf("scheduler: claim check-ins: %w", err)
		}
	default:
	}
	return ctx.Err()
}

// delivery is one DM for a worker, with the batch it belongs to.
type delivery struct {
	c     okr.Checkin
	batch *batchState
}

// batchState follows a batch's DMs to their end, to forget what was
// loaded for them once all are done.
type batchState struct {
	remaining atomic.Int64
	forget    func()
}

func (b *batchState) done() {
	if b.remaining.Add(-1) == 0 {
		b.forget()
	}
}

// skip counts n DMs of the batch as given back untried.
func (b *batchState) skip(n int) {
	if b.remaining.Add(-int64(n)) == 0 {
		b.forget()
	}
}

// startSending marks a batch as handed to senders, in one statement.
func (s *Scheduler) startSending(ctx context.Context, batch []okr.Checkin) error {
	ids := make([]int64, len(batch))
	for i, c := range batch {
		ids[i] = c.ID
	}
	return s.checkins.StartSending(ctx, ids, s.id)
}

// unclaim gives back claimed check-ins that were never tried. If that
// fails, their claims expire and, never started, they are sent without a
// look at the DM history.
func (s *Scheduler) unclaim(batch []okr.Checkin) {
	ids := make([]int64, len(batch))
	for i, c := range batch {
		ids[i] = c.ID
	}
	if err := s.checkins.UnclaimCheckins(context.Background(), ids, s.id); err != nil {
		s.log.Error("cannot give back unsent check-ins; their claims will expire", slog.Int("count", len(ids)), slog.String("error", err.Error()))
	}
}

// sentLog records the DMs that went out as soon as it can, many in one
// statement: while one write is on its way the next ones gather (a group
// commit), so a busy fan-out writes seldom and a quiet one at once. A DM
// whose write is lost (a crash, the database down, a claim moved on) is
// found in the DM history by the claim that recovers it.
type sentLog struct {
	s     *Scheduler
	ctx   context.Context
	mu    sync.Mutex
	dms   []okr.SentDM
	logs  map[int64]*slog.Logger
	given []int64 // check-ins given back after a failed try
	// claims orders the round's claims and its give-backs.
	claims sync.Mutex
	kick   chan struct{}
	done   chan struct{}
	close  func()
}

// newSentLog starts a sentLog's writer; close writes what is left and
// stops it.
func (s *Scheduler) newSentLog(ctx context.Context) *sentLog {
	// Recording must happen even when shutting down: the DMs are out.
	l := &sentLog{s: s, ctx: context.WithoutCancel(ctx), logs: map[int64]*slog.Logger{},
		kick: make(chan struct{}, 1), done: make(chan struct{})}
	stop := make(chan struct{})
	go func() {
		defer close(l.done)
		for {
			select {
			case <-l.kick:
				l.flush()
			case <-stop:
				l.flush()
				return
			}
		}
	}()
	var once sync.Once
	l.close = func() {
		once.Do(func() { close(stop) })
		<-l.done
	}
	return l
}

// gaveBack notes a check-in given back after a failed try.
func (l *sentLog) gaveBack(id int64) {
	l.mu.Lock()
	l.given = append(l.given, id)
	l.mu.Unlock()
}

// ids returns the check-ins given back so far.
func (l *sentLog) ids() []int64 {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.given)
}

func (l *sentLog) add(log *slog.Logger, dm okr.SentDM) {
	l.mu.Lock()
	l.given = nil // Slack takes DMs again: what failed may be retried
	l.dms = append(l.dms, dm)
	l.logs[dm.CheckinID] = log
	l.mu.Unlock()
	select {
	case l.kick <- struct{}{}:
	default: // a write is due already
	}
}

// flush writes the DMs gathered so far.
func (l *sentLog) flush() {
	l.mu.Lock()
	dms, logs := l.dms, l.logs
	l.dms, l.logs = nil, map[int64]*slog.Logger{}
	l.mu.Unlock()
	if len(dms) == 0 {
		return
	}
	s := l.s
	lost, err := s.checkins.MarkCheckinsSent(l.ctx, dms, s.id, s.clock.Now())
	if err != nil {
		s.log.Error("DMs sent but not recorded; the DM history will tell", slog.Int("count", len(dms)), slog.String("error", err.Error()))
		return
	}
	for _, id := range lost {
		logs[id].Error("DM sent but not recorded; the DM history will tell",
			slog.String("error", "that check-in is no longer claimed by this sender"))
	}
}

// deliver sends one claimed check-in and records what happened. It reports
// whether the check-in reached a final state (sent, away, undeliverable)
// rather than being released to try again.
func (s *Scheduler) deliver(ctx context.Context, c okr.Checkin, sent *sentLog) bool {
	log := s.log.With(slog.Int64("checkin_id", c.ID), slog.String("user_id", c.UserID), slog.Int64("team_id", c.TeamID))
	// A claim taken over from a dead sender: the DM may be out already.
	if c.Recovered {
		// One look-up at a time: they are rate limited (50 a minute), and
		// a queue of them would outwait a call's timeout all at once.
		select {
		case s.lookups <- struct{}{}:
		case <-ctx.Done():
			return false
		}
		ch, ts, found, err := s.messenger.FindCheckinDM(ctx, c)
		<-s.lookups
		if err != nil {
			// Not released: a released check-in is scheduled again and
			// sent without a look, though its DM may be out. Its claim
			// expires and the next claim recovers it, looking again.
			log.Warn("cannot look for an earlier DM; will retry once the claim expires", slog.String("error", err.Error()))
			return false
		}
		if found {
			s.markSent(log, c, ch, ts, sent)
			return true
		}
	}
	// Away (read with the claim) is judged on the cycle's date where the
	// person lives.
	if okr.AwayOn(c.AwayUntil, c.CycleStart) {
		if err := s.checkins.SetCheckinState(ctx, c.ID, okr.Away, "away"); err != nil {
			log.Error("cannot mark away", slog.String("error", err.Error()))
		}
		s.obs.Checkin(string(okr.Away))
		return true
	}
	// A claim that expired while the batch waited (or the history was
	// searched) may be another sender's now: sending would DM twice. It is
	// renewed if nobody took it over meanwhile; else the check-in is
	// recovered, from the DM history, by a later claim.
	if c.ClaimedUntil != nil && !s.clock.Now().Before(*c.ClaimedUntil) {
		now := s.clock.Now()
		renewed, err := s.checkins.RenewClaim(ctx, c.ID, s.id, now.Add(s.lease))
		if err != nil || !renewed {
			log.Warn("claim expired before the DM was sent; leaving it to the next claim")
			return false
		}
	}
	ch, ts, err := s.messenger.SendCheckin(ctx, c)
	switch {
	case okr.ErrorCode(err) == okr.EUNDELIVERABLE:
		log.Warn("check-in undeliverable", slog.String("reason", okr.ErrorMessage(err)))
		if err := s.checkins.SetCheckinState(ctx, c.ID, okr.Undeliverable, okr.ErrorMessage(err)); err != nil {
			log.Error("cannot mark undeliverable", slog.String("error", err.Error()))
		}
		s.obs.Checkin(string(okr.Undeliverable))
		return true
	case outcomeUnknown(err):
		// It may be out: the claim expires and the next claim looks in
		// the DM history first.
		log.Warn("no answer from Slack to a check-in DM; will check the DM history once the claim expires", slog.String("error", err.Error()))
		return false
	case err != nil:
		log.Warn("check-in not sent; will retry", slog.String("error", err.Error()))
		// Given back under the claims' lock: a claim runs either before
		// the release (and finds it claimed) or after (and leaves it).
		sent.claims.Lock()
		sent.gaveBack(c.ID)
		s.release(ctx, log, c, err.Error())
		sent.claims.Unlock()
		return false
	}
	s.markSent(log, c, ch, ts, sent)
	return true
}

// markSent counts a DM that went out and logs it to be recorded with its
// batch.
func (s *Scheduler) markSent(log *slog.Logger, c okr.Checkin, ch, ts string, sent *sentLog) {
	s.obs.Checkin(string(okr.Sent))
	sent.add(log, okr.SentDM{CheckinID: c.ID, Channel: ch, TS: ts})
}

func (s *Scheduler) release(ctx context.Context, log *slog.Logger, c okr.Checkin, reason string) {
	if err := s.checkins.ReleaseCheckin(context.WithoutCancel(ctx), c.ID, s.id, reason); err != nil {
		log.Error("cannot release check-in; its claim will expire", slog.String("error", err.Error()))
	}
}

// SendReminders nudges, once, everyone whose check-in is unanswered after
// their team's reminder delay.
func (s *Scheduler) SendReminders(ctx context.Context) error {
	for ctx.Err() == nil {
		batch, err := s.checkins.ClaimReminders(ctx, s.clock.Now(), sendBatch)
		if err != nil {
			return fmt.Errorf("scheduler: claim reminders: %w", err)
		}
		if len(batch) == 0 {
			return nil
		}
		for _, c := range batch {
			until, err := s.checkins.AwayUntil(ctx, c.UserID)
			if err == nil && okr.AwayOn(until, s.clock.Now()) {
				continue
			}
			ts, err := s.messenger.RemindCheckin(ctx, c)
			if err != nil {
				s.log.Warn("reminder not sent", slog.Int64("checkin_id", c.ID), slog.String("error", err.Error()))
				continue
			}
			if err := s.checkins.SetReminderTS(ctx, c.ID, ts); err != nil {
				s.log.Error("cannot record reminder", slog.String("error", err.Error()))
			}
		}
	}
	return ctx.Err()
}

// CloseCheckins marks check-ins whose cycle ended as missed (or away), and
// updates their DMs.
func (s *Scheduler) CloseCheckins(ctx context.Context) error {
	closed, err := s.checkins.CloseCheckins(ctx, s.clock.Now())
	if err != nil {
		return fmt.Errorf("scheduler: close check-ins: %w", err)
	}
	var errs []error
	for _, c := range closed {
		s.obs.Checkin(string(c.State))
		if c.DMTS == "" {
			continue // never DMed: no message to update
		}
		if err := s.messenger.CloseCheckinDM(ctx, c); err != nil {
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		s.log.Warn("some closed check-ins' DMs were not updated", slog.Int("count", len(errs)), slog.String("first_error", errs[0].Error()))
	}
	return nil
}

// SyncUsers caches every person's time zone and status from Slack.
func (s *Scheduler) SyncUsers(ctx context.Context) error {
	users, err := s.messenger.SlackUsers(ctx)
	if err != nil {
		return fmt.Errorf("scheduler: list users: %w", err)
	}
	if err := s.checkins.UpsertSlackUsers(ctx, users); err != nil {
		return fmt.Errorf("scheduler: cache users: %w", err)
	}
	return nil
}

// RunCheckins is the every-minute round: plan, send, remind, close
// check-ins, and post pending alerts.
func (s *Scheduler) RunCheckins(ctx context.Context) error {
	return errors.Join(s.PlanCheckins(ctx), s.SendCheckins(ctx), s.SendReminders(ctx), s.CloseCheckins(ctx), s.PostAlerts(ctx))
}
