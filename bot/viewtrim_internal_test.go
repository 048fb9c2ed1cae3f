package bot

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

func TestTrimViewEcho(t *testing.T) {
	answer := func(body string) *http.Response {
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body))}
	}
	read := func(resp *http.Response) string {
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	resp := answer(`{"ok":true,"view":{"id":"V1","hash":"h1","callback_id":"objective_new","type":"modal",
		"blocks":[{"type":"input","block_id":"title"}],"state":{"values":{}}}}`)
	trimViewEcho(resp)
	body := read(resp)
	var got struct {
		OK   bool           `json:"ok"`
		View map[string]any `json:"view"`
	}
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatal(err)
	}
	if !got.OK || got.View["id"] != "V1" || got.View["hash"] != "h1" || got.View["callback_id"] != "objective_new" {
		t.Errorf("trimmed answer %s: want ok and the view's id, hash and callback_id", body)
	}
	if _, ok := got.View["blocks"]; ok {
		t.Errorf("trimmed answer %s still has the blocks", body)
	}
	if resp.ContentLength != int64(len(body)) {
		t.Errorf("Content-Length %d, want %d", resp.ContentLength, len(body))
	}

	for _, refused := range []string{
		`{"ok":false,"error":"hash_conflict","response_metadata":{"messages":["[ERROR] hash"]}}`,
		`<html>not json</html>`,
	} {
		resp := answer(refused)
		trimViewEcho(resp)
		if got := read(resp); got != refused {
			t.Errorf("answer %s: passed on %s, want it unchanged", refused, got)
		}
	}
}
