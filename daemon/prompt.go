package daemon

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/mfad/mfad/daemon/privatefile"
	"github.com/mfad/mfad/daemon/session"
	"github.com/mfad/mfad/ipc"
)

// PromptFile is the name, in the daemon's private state directory, of the
// file that shells' prompt hooks read (`mfad shell-init`): one line per
// profile with what a prompt should say of it, so that a prompt costs a
// read of a small file, never a round trip to the daemon.
//
// The first line is "@served PROFILE", the profile of the IMDS endpoint;
// then "PROFILE STATE TEXT" for each profile of the config file, where
// STATE is ok, warn (the MFA session ends within the warning time), ended,
// locked or error, and TEXT is the line a prompt shows ("-" for ok).
const PromptFile = "prompt"

// promptFile keeps PromptFile current. It is rewritten only when what it
// says changes, so a hook can also tell a change by its modification time.
type promptFile struct {
	path       string
	served     string
	warnBefore time.Duration

	mu   sync.Mutex
	last []byte
}

// update rewrites the file from the sessions' state at now, and returns
// when what it says will next change by the clock alone (a session
// entering its warning time or ending), or the zero time.
func (p *promptFile) update(sessions *session.Manager, now time.Time) time.Time {
	statuses := sessions.Status(p.served)
	ends := sessions.Expirations()
	var next time.Time
	soonest := func(t time.Time) {
		if t.After(now) && (next.IsZero() || t.Before(next)) {
			next = t
		}
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "@served %s\n", p.served)
	for _, st := range statuses {
		root := st.Name
		if st.Source != "" {
			root = st.Source
		}
		unlock := "mfad unlock"
		if st.Name != p.served {
			unlock += " --profile " + st.Name
		}
		end, unlocked := ends[root]
		ending := end.Add(-session.LastServed)
		var state, text string
		switch {
		case st.LastError != "" && st.State != ipc.StateUnlocked && st.Source != "":
			state, text = "error", fmt.Sprintf("mfad: profile %s: %s", st.Name, st.LastError)
		case unlocked && !now.Before(ending):
			state, text = "ended", fmt.Sprintf("mfad: the MFA session of profile %s ended at %s; run `%s`", root, end.Local().Format("15:04"), unlock)
		case unlocked && p.warnBefore > 0 && !now.Before(end.Add(-p.warnBefore)):
			state = "warn"
			text = fmt.Sprintf("mfad: the MFA session of profile %s ends at %s; run `%s --renew` for a new one", root, end.Local().Format("15:04"), unlock)
			soonest(ending)
		case unlocked:
			state, text = "ok", "-"
			soonest(end.Add(-p.warnBefore))
			soonest(ending)
		default:
			state, text = "locked", fmt.Sprintf("mfad: profile %s is locked; run `%s`", st.Name, unlock)
		}
		fmt.Fprintf(&b, "%s %s %s\n", st.Name, state, strings.ReplaceAll(text, "\n", " "))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if !bytes.Equal(b.Bytes(), p.last) {
		if err := privatefile.Write(p.path, b.Bytes()); err == nil {
			p.last = b.Bytes()
		}
	}
	return next
}

// remove deletes the file: no daemon, nothing to say of its sessions.
func (p *promptFile) remove() { os.Remove(p.path) }
