package bot

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/slack-go/slack"

	"github.com/okrbot/okrbot/okr"
)

// objective is an active objective with metric key results (0 → 10) at the
// given currents and confidences.
func objective(id int64, krs ...[2]float64) okr.Objective {
	o := okr.Objective{ID: id, TeamID: 1, Title: fmt.Sprintf("O%d", id), OwnerID: "U1", Kind: okr.Committed, Status: okr.Active}
	for i, k := range krs {
		o.KeyResults = append(o.KeyResults, okr.KeyResult{ID: id*100 + int64(i), Title: fmt.Sprintf("KR %d.%d", id, i),
			OwnerID: "U1", Kind: okr.Metric, Start: 0, Target: 10, Current: k[0], Confidence: int(k[1])})
	}
	return o
}

func TestByAttention(t *testing.T) {
	closed := objective(1, [2]float64{0, 1})
	closed.Status = okr.Closed
	objs := []okr.Objective{
		closed,
		objective(2, [2]float64{9, 9}), // on track, far along
		objective(3, [2]float64{5, 5}, [2]float64{9, 9}), // at risk
		objective(4, [2]float64{1, 8}),                   // on track, little progress
		objective(5, [2]float64{5, 2}),                   // off track
		objective(6),                                     // no key results
		objective(7, [2]float64{5, 0}),                   // not checked in yet
		objective(8, [2]float64{5, 4}),                   // at risk, less confident than 3
	}
	byAttention(objs)
	var got []int64
	for _, o := range objs {
		got = append(got, o.ID)
	}
	if want := "[5 8 3 6 7 4 2 1]"; fmt.Sprint(got) != want {
		t.Errorf("got %v, want %s", got, want)
	}
}

func TestHomeBlocksFit(t *testing.T) {
	many := make([]okr.KeyResult, 30)
	for i := range many {
		many[i] = okr.KeyResult{ID: int64(1000 + i), Title: strings.Repeat("long title ", 13), OwnerID: "U1", Kind: okr.Metric, Target: 1}
	}
	tests := []struct {
		name       string
		objectives int
		krs        int
		wantMore   string
	}{
		{"none", 0, 0, ""},
		{"three", 3, 3, ""},
		{"sixty", 60, 3, "…and 40 more objectives"},
		{"many key results each", 30, 30, "…and 21 more objectives"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := homeData{userID: "U1", period: okr.QuarterOf(time.Date(2027, 1, 3, 20, 0, 0, 0, time.UTC), time.January), teams: map[int64]string{1: "Platform"},
				checkins: []string{"🗓️ Next check-in: soon"},
				atRisk:   []okr.OwnedKeyResult{{KeyResult: many[0], ObjectiveTitle: "O", TeamName: "Platform"}},
				kpis:     []slack.Block{slack.NewDividerBlock(), section("*Your KPIs*")}}
			for i := range tt.objectives {
				o := objective(int64(i + 1))
				for j := range tt.krs {
					kr := many[j]
					kr.ID = int64(i*100 + j)
					o.KeyResults = append(o.KeyResults, kr)
				}
				d.objectives = append(d.objectives, o)
			}
			blocks := homeBlocks(d)
			if len(blocks) > maxViewBlocks {
				t.Fatalf("got %d blocks, want at most %d", len(blocks), maxViewBlocks)
			}
			js, err := json.Marshal(blocks)
			if err != nil {
				t.Fatal(err)
			}
			text := string(js)
			if tt.wantMore != "" && !strings.Contains(text, tt.wantMore) {
				t.Errorf("got no %q in %s", tt.wantMore, text)
			}
			if tt.wantMore == "" && strings.Contains(text, "more objective") {
				t.Errorf("got an \"and more\" line for %d objectives", tt.objectives)
			}
			for _, want := range []string{"Check in now", "New objective", "Record KPI", "At risk in your teams", "Your KPIs", "Next check-in"} {
				if !strings.Contains(text, want) {
					t.Errorf("got no %q", want)
				}
			}
		})
	}
}
