package manifests_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/okrbot/okrbot/manifests"
)

// apiScopes maps each slack-go call the bot makes to the Web API method it
// calls and the bot scopes that method needs. A call missing here fails the
// test, so the manifest cannot fall behind the code.
var apiScopes = map[string]struct {
	method string
	scopes []string
}{
	// Posting in a team's channel without being invited needs chat:write.public.
	"PostMessageContext":            {"chat.postMessage", []string{"chat:write", "chat:write.public"}},
	"PostEphemeralContext":          {"chat.postEphemeral", []string{"chat:write"}},
	"UpdateMessageContext":          {"chat.update", []string{"chat:write"}},
	"OpenConversationContext":       {"conversations.open", []string{"im:write"}},
	"GetConversationHistoryContext": {"conversations.history", []string{"im:history", "channels:history", "groups:history"}},
	"GetUserInfoContext":            {"users.info", []string{"users:read"}},
	"GetUsersContext":               {"users.list", []string{"users:read"}},
	"OpenViewContext":               {"views.open", nil},
	"PushViewContext":               {"views.push", nil},
	"UpdateViewContext":             {"views.update", nil},
	"PublishViewContext":            {"views.publish", nil},
	"UploadFileContext":             {"files.getUploadURLExternal", []string{"files:write"}},
	"GetConversationInfoContext":    {"conversations.info", []string{"channels:read", "groups:read"}},
	"GetConversationRepliesContext": {"conversations.replies", []string{"channels:history", "groups:history", "im:history"}},
	"DeleteMessageContext":          {"chat.delete", []string{"chat:write"}},
	"PostWebhookCustomHTTPContext":  {"response_url", nil},
	"GetUsersInConversationContext": {"conversations.members", []string{"channels:read", "groups:read"}},
	"AuthTestContext":               {"auth.test", nil},
}

// alwaysNeeded are scopes that no Web API call shows: the /okr command.
var alwaysNeeded = []string{"commands"}

var apiCall = regexp.MustCompile(`(?:b\.api|api|slack)\.([A-Z][A-Za-z]+Context)\(`)

func TestBotScopesMatchTheCode(t *testing.T) {
	files, err := filepath.Glob("../bot/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bot sources: %v", err)
	}
	need := map[string]bool{}
	for _, s := range alwaysNeeded {
		need[s] = true
	}
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		src, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range apiCall.FindAllStringSubmatch(string(src), -1) {
			call, ok := apiScopes[m[1]]
			if !ok {
				t.Errorf("%s calls %s, which the scope table does not know: add its Web API method and scopes", filepath.Base(f), m[1])
				continue
			}
			for _, s := range call.scopes {
				need[s] = true
			}
		}
	}
	var manifest struct {
		OAuth struct {
			Scopes struct {
				Bot []string `json:"bot"`
			} `json:"scopes"`
		} `json:"oauth_config"`
	}
	if err := json.Unmarshal(manifests.SlackApp, &manifest); err != nil {
		t.Fatal(err)
	}
	var want []string
	for s := range need {
		want = append(want, s)
	}
	slices.Sort(want)
	got := slices.Clone(manifest.OAuth.Scopes.Bot)
	slices.Sort(got)
	if !slices.Equal(got, want) {
		t.Errorf("manifest bot scopes:\ngot  %v\nwant %v (what the code's Web API calls need)", got, want)
	}
}
