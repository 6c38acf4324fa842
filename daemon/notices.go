package daemon

import (
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mfad/mfad/daemon/notify"
)

// lockedNoticeInterval is the least time between two "asked while locked"
// notices for one profile: a client retrying must not bury the desktop.
const lockedNoticeInterval = 10 * time.Minute

// notices decides when to tell the user about their sessions: before one
// ends, when it has ended, and when a program asks for credentials while
// the profile is locked. Showing is asynchronous: no notice ever holds up a
// request.
type notices struct {
	notifier   notify.Notifier // nil shows nothing
	logger     *slog.Logger
	warnBefore time.Duration // zero: no warning before the end

	mu       sync.Mutex
	warned   map[string]time.Time // profile -> expiration already warned of
	ended    map[string]time.Time // profile -> expiration already reported
	lockedAt map[string]time.Time // profile -> last locked notice
	queued   int                  // notices handed to the queue, for tests

	// queue feeds one goroutine that shows notices in order.
	queue chan [2]string
}

func newNotices(n notify.Notifier, logger *slog.Logger, warnBefore time.Duration) *notices {
	ns := &notices{notifier: n, logger: logger, warnBefore: warnBefore,
		warned: map[string]time.Time{}, ended: map[string]time.Time{}, lockedAt: map[string]time.Time{},
		queue: make(chan [2]string, 16)}
	if n != nil {
		go ns.deliver()
	}
	return ns
}

func (n *notices) deliver() {
	for msg := range n.queue {
		if err := n.notifier.Notify(msg[0], msg[1]); err != nil {
			n.logger.Debug("could not show a notification", "error", err.Error())
		}
	}
}

// checkExpiry looks at every session's end at now. It runs on a ticker;
// judging by the wall clock each time, it catches up after a sleep.
func (n *notices) checkExpiry(now time.Time, expirations map[string]time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for profile, exp := range expirations {
		left := exp.Sub(now)
		switch {
		case left <= 0:
			if !n.ended[profile].Equal(exp) {
				n.ended[profile] = exp
				n.show("AWS session ended",
					fmt.Sprintf("The MFA session of profile %s ended at %s. Run `mfad unlock` for a new one.", profile, exp.Local().Format("15:04")))
			}
		case n.warnBefore > 0 && left <= n.warnBefore:
			if !n.warned[profile].Equal(exp) {
				n.warned[profile] = exp
				n.show("AWS session ending",
					fmt.Sprintf("The MFA session of profile %s ends at %s (in %d min). Run `mfad unlock` to renew it.",
						profile, exp.Local().Format("15:04"), int(left.Round(time.Minute)/time.Minute)))
			}
		}
	}
}

// locked reports that a program asked for profile's credentials while it
// was locked, at most once per lockedNoticeInterval.
func (n *notices) locked(profile string, now time.Time) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if last, ok := n.lockedAt[profile]; ok && now.Sub(last) < lockedNoticeInterval {
		return
	}
	n.lockedAt[profile] = now
	n.show("AWS credentials requested",
		fmt.Sprintf("A program asked for the credentials of profile %s, which is locked. Run `mfad unlock` to unlock it.", profile))
}

// show logs the notice and queues it for the desktop without waiting; a
// notice that finds the queue full is only logged. Called with n.mu held.
func (n *notices) show(title, message string) {
	n.logger.Info("notice", "title", title, "message", message)
	if n.notifier == nil {
		return
	}
	select {
	case n.queue <- [2]string{title, message}:
		n.queued++
	default:
	}
}
