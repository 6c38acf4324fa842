// Package busguard keeps the keyring library from starting a D-Bus session
// bus in every mfad process.
//
// github.com/99designs/keyring looks for the session bus while its package
// is initialised (for its Secret Service and KWallet backends), through
// godbus, which, when DBUS_SESSION_BUS_ADDRESS is unset and there is no
// per-user bus socket, runs dbus-launch. Where dbus-launch is installed
// (dbus-x11) but no session bus runs, as over SSH, in WSL or a container,
// each mfad command and each daemon start would start a dbus-daemon that
// nothing ever stops (godbus/dbus#268), and wait 20 ms for it.
//
// Go initialises, at each step, the first package in import-path order
// whose imports are initialised (the language's order since Go 1.21). This
// package imports only os, and its path sorts before os/exec and os/user,
// which godbus imports: once os is initialised it comes before them, so
// before godbus and keyring. For as long as those are initialised it names
// a bus address that fails at once; keystore, initialised after keyring
// since it imports it, calls Restore, which puts the environment back, so
// that the programs mfad runs inherit it unchanged.
package busguard

import (
	"os"
	"runtime"
)

// AddressEnv is the variable that names the session bus.
const AddressEnv = "DBUS_SESSION_BUS_ADDRESS"

// noBus is an address no bus has: connecting to it fails without a
// system call.
const noBus = "mfad-no-session-bus:"

// saved is the variable as it was, while the guard holds it.
var saved *savedEnv

type savedEnv struct {
	value string
	set   bool
}

func init() {
	if runtime.GOOS != "linux" {
		return // the keyring's D-Bus backends are Linux's
	}
	value, set := os.LookupEnv(AddressEnv)
	if value != "" && value != "autolaunch:" {
		return // a bus is named; godbus launches nothing
	}
	// Where godbus looks before it launches one (its
	// tryDiscoverDbusSessionBusAddress): a bus found there is used.
	dir := "/run/user/" + decimal(os.Getuid())
	for _, name := range []string{"/bus", "/dbus-session"} {
		if _, err := os.Stat(dir + name); err == nil {
			return
		}
	}
	saved = &savedEnv{value, set}
	guarded = true
	os.Setenv(AddressEnv, noBus)
}

// Restore puts the variable back as it was before the keyring's
// initialisation. Later calls do nothing.
func Restore() {
	if saved == nil {
		return
	}
	if saved.set {
		os.Setenv(AddressEnv, saved.value)
	} else {
		os.Unsetenv(AddressEnv)
	}
	saved = nil
}

// Guarded reports whether the guard held the variable during the
// keyring's initialisation: no bus was named or found.
func Guarded() bool { return guarded }

var guarded bool

// decimal formats n without strconv, which sorts after os/exec: importing
// it could let godbus be initialised first.
func decimal(n int) string {
	if n < 0 {
		return "-" + decimal(-n)
	}
	var b [20]byte
	i := len(b)
	for {
		i--
		b[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			return string(b[i:])
		}
	}
}
