package daemon

import (
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mfad/mfad/daemon/notify"
)

// recorder is a notifier that keeps what it is asked to show.
type recorder struct {
	mu    sync.Mutex
	shown []string
	more  chan struct{}
}

func newRecorder() *recorder { return &recorder{more: make(chan struct{}, 100)} }

func (r *recorder) Notify(title, message string) error {
	r.mu.Lock()
	r.shown = append(r.shown, title+": "+message)
	r.mu.Unlock()
	r.more <- struct{}{}
	return nil
}

// wait waits for n notifications in all and returns them.
func (r *recorder) wait(t *testing.T, n int) []string {
	t.Helper()
	for {
		r.mu.Lock()
		got := append([]string(nil), r.shown...)
		r.mu.Unlock()
		if len(got) >= n {
			return got
		}
		select {
		case <-r.more:
		case <-time.After(5 * time.Second):
			t.Fatalf("%d notifications, want %d: %q", len(got), n, got)
		}
	}
}

func TestExpiryNotices(t *testing.T) {
	rec := newRecorder()
	n := newNotices(rec, slog.New(slog.DiscardHandler), 15*time.Minute)
	start := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	exp := start.Add(time.Hour)
	sessions := map[string]time.Time{"default": exp}

	n.checkExpiry(start, sessions)                     // an hour left: nothing
	n.checkExpiry(start.Add(50*time.Minute), sessions) // 10 minutes left: a warning
	n.checkExpiry(start.Add(55*time.Minute), sessions) // once only
	// The laptop sleeps through the end and wakes two hours later.
	n.checkExpiry(start.Add(3*time.Hour), sessions)
	n.checkExpiry(start.Add(3*time.Hour+time.Minute), sessions)
	got := rec.wait(t, 2)
	if len(got) != 2 || !strings.Contains(got[0], "ending") || !strings.Contains(got[0], "in 10 min") || !strings.Contains(got[1], "ended") {
		t.Fatalf("notices %q", got)
	}

	// A new session is warned of again.
	sessions["default"] = start.Add(4 * time.Hour)
	n.checkExpiry(start.Add(4*time.Hour-5*time.Minute), sessions)
	if got := rec.wait(t, 3); !strings.Contains(got[2], "in 5 min") {
		t.Fatalf("second session: %q", got)
	}
}

func TestLockedNoticeRateLimited(t *testing.T) {
	rec := newRecorder()
	n := newNotices(rec, slog.New(slog.DiscardHandler), 0)
	now := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	for i := range 50 {
		n.locked("default", now.Add(time.Duration(i)*time.Second))
	}
	n.locked("work", now)
	n.locked("default", now.Add(lockedNoticeInterval))
	n.mu.Lock()
	queued := n.queued
	n.mu.Unlock()
	if queued != 3 {
		t.Fatalf("%d notices, want 3 (default, work, default 10 minutes later)", queued)
	}
	if got := rec.wait(t, 3); !strings.Contains(got[0], "default") || !strings.Contains(got[1], "work") {
		t.Fatalf("notices %q", got)
	}
}

var _ notify.Notifier = (*recorder)(nil)
