package ipc

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzDecode feeds arbitrary bodies to the request decoder: it must never
// panic, must refuse what is not one JSON request, and what it accepts must
// survive a round trip.
func FuzzDecode(f *testing.F) {
	for _, seed := range []string{
		`{"profile":"default","code":"123456"}`,
		`{"profile":"work"}`,
		`{"code":123456}`,
		`{"profile":"a","code":"1","extra":[1,2,{"x":null}]}`,
		`[]`, `null`, `{`, "",
		`{"profile":"\u0000\ud800"}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		r := httptest.NewRequest(http.MethodPost, PathUnlock, bytes.NewReader(body))
		w := httptest.NewRecorder()
		var req UnlockRequest
		ok := decode(w, r, &req)
		if !ok {
			if w.Code != http.StatusBadRequest {
				t.Fatalf("refused with %d, want 400", w.Code)
			}
			var e Error
			if err := json.Unmarshal(w.Body.Bytes(), &e); err != nil || e.Kind != KindBadRequest || e.Message == "" {
				t.Fatalf("refusal is not an API error: %q", w.Body)
			}
			return
		}
		if len(body) > maxBodyBytes {
			t.Fatalf("accepted a %d-byte body", len(body))
		}
		again, _ := json.Marshal(req)
		var back UnlockRequest
		if err := json.Unmarshal(again, &back); err != nil || back != req {
			t.Fatalf("round trip changed %+v into %+v", req, back)
		}
	})
}
