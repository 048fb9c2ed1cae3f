package bot

import (
	"encoding/json"
	"testing"

	"github.com/slack-go/slack"

	"github.com/okrbot/okrbot/okr"
)

// FuzzViewSubmission feeds arbitrary view_submission payloads through
// slack-go's decoding and the bot's form readers: none may panic, and what
// they accept must be valid.
func FuzzViewSubmission(f *testing.F) {
	f.Add([]byte(`{"type":"view_submission","user":{"id":"U1"},"view":{"id":"V1","callback_id":"objective_new","private_metadata":"{\"c\":\"C1\",\"t\":1}","state":{"values":{"kr1_title":{"kr1_title":{"type":"plain_text_input","value":"Reduce"}},"kr1_start":{"kr1_start":{"type":"plain_text_input","value":"12"}},"kr1_target":{"kr1_target":{"type":"plain_text_input","value":"4"}}}}}}`))
	f.Add([]byte(`{"type":"view_submission","view":{"callback_id":"checkin","private_metadata":"{\"k\":3,\"p\":0,\"n\":1,\"r\":[7]}","state":{"values":{"kr_7_value":{"kr_7_value":{"type":"plain_text_input","value":"1.2k"}},"kr_7_conf":{"kr_7_conf":{"type":"static_select","selected_option":{"value":"7"}}}}}}}`))
	f.Add([]byte(`{"type":"view_submission","view":{"state":{"values":{"kr1_start":{"kr1_start":{"value":"12"}}}}}}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"view":{"private_metadata":"{\"n\":-1,\"p\":99}"}}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		var cb slack.InteractionCallback
		if err := json.Unmarshal(payload, &cb); err != nil {
			return
		}
		f := newForm(cb.View)
		for i := 1; i <= okr.MaxKeyResults; i++ {
			errs := fieldErrors{}
			kr, ok := keyResultFromForm(f, func(name string) string { return krField(i, name) }, "U1", errs)
			if ok && len(errs) == 0 {
				if err := kr.Validate(); err != nil {
					t.Errorf("accepted key result %d is invalid: %v", i, err)
				}
			}
		}
		_ = parseMetadata(cb.View.PrivateMetadata)
		var meta checkinMeta
		if json.Unmarshal([]byte(cb.View.PrivateMetadata), &meta) == nil {
			for _, id := range meta.KRs {
				for _, kind := range []okr.KRKind{okr.Metric, okr.Milestone} {
					errs := fieldErrors{}
					kr := okr.OwnedKeyResult{KeyResult: okr.KeyResult{ID: id, Kind: kind}}
					a, ok := readAnswer(f, kr, errs)
					if ok && (a.Confidence < 1 || a.Confidence > 10) {
						t.Errorf("accepted confidence %d", a.Confidence)
					}
				}
			}
		}
	})
}
