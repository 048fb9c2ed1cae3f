package bot

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackevents"
)

// onAppHomeOpened publishes a person's App Home: their OKRs this quarter.
func (b *Bot) onAppHomeOpened(ctx context.Context, log *slog.Logger, e slackevents.EventsAPIInnerEvent) error {
	ev, ok := e.Data.(*slackevents.AppHomeOpenedEvent)
	if !ok || ev.Tab != "home" {
		return nil
	}
	return b.publishHome(ctx, ev.User)
}

// publishHome builds and publishes a person's App Home.
func (b *Bot) publishHome(ctx context.Context, userID string) error {
	q := b.currentQuarter()
	objs, err := b.store.ObjectivesByOwner(ctx, userID, q.Label())
	if err != nil {
		return err
	}
	groups, err := b.groupByTeam(ctx, objs, q)
	if err != nil {
		return err
	}
	ks, err := b.store.KPIsOwnedBy(ctx, userID)
	if err != nil {
		return err
	}
	kpis, err := b.kpiBlocks(ctx, "Your KPIs", ks)
	if err != nil {
		return err
	}
	blocks := homeBlocks(groups, kpis, q.Label())
	_, err = b.api.PublishViewContext(ctx, slack.PublishViewContextRequest{
		UserID: userID,
		View:   slack.HomeTabViewRequest{Type: slack.VTHomeTab, Blocks: slack.Blocks{BlockSet: blocks}},
	})
	if err != nil {
		return fmt.Errorf("bot: publish home: %w", err)
	}
	return nil
}

// homeBlocks lays out the App Home within its 100 blocks: my OKRs, then
// my KPIs with their health.
func homeBlocks(groups []teamObjectives, kpis []slack.Block, period string) []slack.Block {
	actions := slack.NewActionBlock("home_actions", button(actionNewObjective, "New objective", "new", slack.StylePrimary))
	if len(groups) == 0 {
		blocks := []slack.Block{
			header("Your OKRs · " + period),
			section("You own no objectives or key results this quarter yet."),
		}
		return append(append(blocks, kpis...), actions)
	}
	blocks := listBlocksWith("Your OKRs · "+period, groups, kpis)
	return append(blocks, actions)
}
