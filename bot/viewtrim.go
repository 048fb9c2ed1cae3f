package bot

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
)

// echoedViews are the methods whose answer echoes the whole view back.
var echoedViews = map[string]bool{
	"views.open": true, "views.push": true, "views.update": true, "views.publish": true,
}

// trimmedView is what okrbot keeps of a view Slack echoes back: who it is,
// not its blocks or state.
type trimmedView struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
	View  *struct {
		ID             string `json:"id"`
		TeamID         string `json:"team_id,omitempty"`
		Type           string `json:"type,omitempty"`
		CallbackID     string `json:"callback_id,omitempty"`
		ExternalID     string `json:"external_id,omitempty"`
		Hash           string `json:"hash,omitempty"`
		RootViewID     string `json:"root_view_id,omitempty"`
		PreviousViewID string `json:"previous_view_id,omitempty"`
		AppID          string `json:"app_id,omitempty"`
		BotID          string `json:"bot_id,omitempty"`
	} `json:"view,omitempty"`
}

// trimViewEcho replaces a successful views.* answer with one that keeps
// the view's identity and drops its blocks and state. okrbot never reads
// them, and slack-go decodes every block it is given: for a burst of
// /okr new that was a fifth of the bot's CPU, taken from the acks. An
// answer that is not ok, or not JSON, passes on unchanged.
func trimViewEcho(resp *http.Response) {
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		resp.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
		return
	}
	var t trimmedView
	if json.Unmarshal(body, &t) == nil && t.OK {
		if small, err := json.Marshal(t); err == nil {
			body = small
		}
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	resp.ContentLength = int64(len(body))
	resp.Header.Set("Content-Length", strconv.Itoa(len(body)))
}

// errReader fails every read with err.
type errReader struct{ err error }

func (r errReader) Read([]byte) (int, error) { return 0, r.err }
