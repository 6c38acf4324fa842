package imds

import (
	"context"
	"net"
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

// BenchmarkHandlerSequence is a whole credential fetch, as a new SDK
// client makes it: a token, the role list, the credentials, on one
// connection that the daemon's server records (ConnContext). Its
// allocations include one of its own: the token copied from the answer
// into the next requests, as net/http's header parsing copies it.
func BenchmarkHandlerSequence(b *testing.B) {
	h := newTestHandler(unlockedSource(), Options{})
	put := newRequest(http.MethodPut, "/latest/api/token", map[string]string{TokenTTLHeader: "21600"})
	list := newRequest(http.MethodGet, "/latest/meta-data/iam/security-credentials/", nil)
	creds := newRequest(http.MethodGet, "/latest/meta-data/iam/security-credentials/default", nil)
	conn := newConnFacts(&net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 40000}, &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 9911})
	for _, r := range []**http.Request{&put, &list, &creds} {
		*r = (*r).WithContext(context.WithValue((*r).Context(), connKey{}, conn))
	}
	token := []string{""}
	list.Header[TokenHeader] = token
	creds.Header[TokenHeader] = token
	w := &discardWriter{header: http.Header{}, body: make([]byte, 0, 4096)}
	b.ReportAllocs()
	for b.Loop() {
		for _, r := range []*http.Request{put, list, creds} {
			clear(w.header)
			w.code = 0
			w.body = w.body[:0]
			h.ServeHTTP(w, r)
			if w.code != http.StatusOK {
				b.Fatalf("%s %s: status %d", r.Method, r.URL.Path, w.code)
			}
			if r == put {
				token[0] = string(w.body)
			}
		}
	}
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

// discardWriter is a ResponseWriter that keeps only the status, and the
// body if asked (body not nil). Like net/http's, it writes strings without
// copying them.
type discardWriter struct {
	header http.Header
	code   int
	body   []byte
}

func (w *discardWriter) Header() http.Header { return w.header }
func (w *discardWriter) WriteHeader(code int) {
	if w.code == 0 {
		w.code = code
	}
}
func (w *discardWriter) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	if w.body != nil {
		w.body = append(w.body, p...)
	}
	return len(p), nil
}

func (w *discardWriter) WriteString(s string) (int, error) {
	w.WriteHeader(http.StatusOK)
	if w.body != nil {
		w.body = append(w.body, s...)
	}
	return len(s), nil
}

func BenchmarkHandlerContainer(b *testing.B) {
	h := containerHandler(byProfile)
	r := newRequest(http.MethodGet, "/profiles/work", map[string]string{"Authorization": testContainerToken})
	benchServe(b, h, r)
}
