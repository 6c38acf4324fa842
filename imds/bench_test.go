package imds

import (
	"net/http"
	"testing"
	"time"
)

// The handler's own cost per request, without the network. Compare with
// BenchmarkBareMux: net/http's ServeMux answering a fixed body.

func BenchmarkHandlerCredentials(b *testing.B) {
	h := newTestHandler(unlockedSource(), Options{})
	tok := h.tokens.issue(testNow.Add(time.Hour))
	r := newRequest(http.MethodGet, "/latest/meta-data/iam/security-credentials/default", map[string]string{TokenHeader: tok})
	benchServe(b, h, r)
}

func BenchmarkHandlerRoleList(b *testing.B) {
	h := newTestHandler(unlockedSource(), Options{})
	tok := h.tokens.issue(testNow.Add(time.Hour))
	r := newRequest(http.MethodGet, "/latest/meta-data/iam/security-credentials/", map[string]string{TokenHeader: tok})
	benchServe(b, h, r)
}

func BenchmarkHandlerToken(b *testing.B) {
	h := newTestHandler(unlockedSource(), Options{})
	r := newRequest(http.MethodPut, "/latest/api/token", map[string]string{TokenTTLHeader: "21600"})
	benchServe(b, h, r)
}

func BenchmarkBareMux(b *testing.B) {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /latest/meta-data/iam/security-credentials/default", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte(`{"Code":"Success"}`))
	})
	r := newRequest(http.MethodGet, "/latest/meta-data/iam/security-credentials/default", nil)
	benchServe(b, mux, r)
}

func BenchmarkTokenValid(b *testing.B) {
	m := newTokenMinter(nil)
	tok := m.issue(testNow.Add(time.Hour))
	b.ReportAllocs()
	for b.Loop() {
		if !m.valid(tok, testNow) {
			b.Fatal("invalid")
		}
	}
}

func BenchmarkTokenIssue(b *testing.B) {
	m := newTokenMinter(nil)
	b.ReportAllocs()
	for b.Loop() {
		m.issue(testNow)
	}
}

// benchServe serves r again and again into a writer that keeps nothing.
func benchServe(b *testing.B, h http.Handler, r *http.Request) {
	w := &discardWriter{header: http.Header{}}
	b.ReportAllocs()
	for b.Loop() {
		clear(w.header)
		w.code = 0
		h.ServeHTTP(w, r)
		if w.code != http.StatusOK {
			b.Fatalf("status %d", w.code)
		}
	}
}

type discardWriter struct {
	header http.Header
	code   int
}

func (w *discardWriter) Header() http.Header { return w.header }
func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return len(p), nil
}

func BenchmarkHandlerContainer(b *testing.B) {
	h := containerHandler(byProfile)
	r := newRequest(http.MethodGet, "/profiles/work", map[string]string{"Authorization": testContainerToken})
	benchServe(b, h, r)
}
