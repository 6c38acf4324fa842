// Package daemon is mfad's long-running process. It wires the keyring, the
// AWS config, STS and the MFA sessions to two servers: the IMDS-compatible
// endpoint on loopback TCP, which AWS SDKs and the CLI read credentials
// from, and the control socket, which `mfad unlock` and friends talk to.
package daemon

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync/atomic"
	"time"

	"github.com/mfad/mfad/daemon/awsconfig"
	"github.com/mfad/mfad/daemon/awssts"
	"github.com/mfad/mfad/daemon/harden"
	"github.com/mfad/mfad/daemon/keystore"
	"github.com/mfad/mfad/daemon/notify"
	"github.com/mfad/mfad/daemon/privatefile"
	"github.com/mfad/mfad/daemon/secret"
	"github.com/mfad/mfad/daemon/session"
	"github.com/mfad/mfad/imds"
	"github.com/mfad/mfad/ipc"
)

// DefaultListen is where the IMDS endpoint listens by default.
const DefaultListen = "127.0.0.1:9911"

// ListenEnv names the variable that changes the default address, for
// every command at once (serve, service install, init, shell-init).
const ListenEnv = "MFAD_LISTEN"

// Listen is the default address: $MFAD_LISTEN, else DefaultListen.
func Listen() string {
	if l := os.Getenv(ListenEnv); l != "" {
		return l
	}
	return DefaultListen
}

// Config is what a daemon needs to run.
type Config struct {
	// Listen is the IMDS endpoint's loopback address, host:port.
	Listen string
	// Listener, if set, is used for the IMDS endpoint instead of
	// listening on Listen: tests pass their own.
	Listener net.Listener
	// Profile is the profile served on the IMDS endpoint.
	Profile string
	// Socket is the control socket's path.
	Socket string
	// AllowIMDSv1 lets clients read credentials without a session token.
	AllowIMDSv1 bool
	// Keys reads the long-term keys from the keyring.
	Keys session.KeySource
	// Cache keeps sessions across restarts; nil keeps them in memory only.
	Cache session.Cache
	// Admin, if set, is the keyring the key commands (add, list, remove,
	// import) use through the daemon while it runs: the one it has open.
	Admin KeyAdmin
	// Keyring, if set, is a keyring that waits for its passphrase
	// (keystore.Lazy): the daemon serves at once, and `mfad unlock` sends
	// the passphrase. Keys and Cache are then the same keyring.
	Keyring LockedKeyring
	// OpenKeyring, if set, opens Keyring with a passphrase the daemon was
	// given (MFAD_FILE_PASSPHRASE): once serving, not before, as the key
	// derivation takes a tenth of a second while the sessions a restart
	// needs are in the kernel's keyring.
	OpenKeyring func() error
	// STS obtains sessions; nil means the real STS.
	STS session.Issuer
	// Logger receives the daemon's log; nil discards it.
	Logger *slog.Logger
	// Version is reported by `mfad status`.
	Version string
	// OnReady, if set, is called once both servers accept connections.
	OnReady func()
	// Notifier shows desktop notifications; nil shows none (they are
	// still logged).
	Notifier notify.Notifier
	// WarnBefore is how long before a session ends the user is warned;
	// zero means no warning.
	WarnBefore time.Duration
}

// KeyAdmin stores, lists and removes keys (keystore.Store, keystore.Lazy).
type KeyAdmin interface {
	Keys(profile string) (keystore.Keys, error)
	PutKeys(profile string, k keystore.Keys) error
	RemoveKeys(profile string) error
	Profiles() ([]string, error)
	Backend() string
}

// LockedKeyring is a keyring that opens when given its passphrase, or
// when it answers at last.
type LockedKeyring interface {
	Locked() bool
	Open(passphrase string) error
	// Waiting says what it waits for.
	Waiting() string
	// NeedsPassphrase reports whether that is a passphrase.
	NeedsPassphrase() bool
	// Close forgets a keyring opened with a passphrase, and reports
	// whether there was one.
	Close() bool
}

// Run serves until ctx ends, then shuts both servers down and removes the
// control socket.
func Run(ctx context.Context, cfg Config) error {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.STS == nil {
		cfg.STS = &awssts.Client{}
	}
	if err := harden.Process(); err != nil {
		cfg.Logger.Warn("could not disable core dumps", "error", err.Error())
	}
	if cfg.Listener != nil {
		cfg.Listen = cfg.Listener.Addr().String()
	}
	if err := CheckLoopback(cfg.Listen); err != nil {
		return err
	}
	awsconfig.SetMetadataProfile(cfg.Profile)
	profile, err := awsconfig.Load(ctx, cfg.Profile)
	if err != nil {
		return err
	}
	// The kernel's copy of the sessions belongs to this login's daemon:
	// the one whose control socket is in that directory.
	sessions := session.New(session.Options{Keys: cfg.Keys, STS: cfg.STS, Cache: cfg.Cache, Logger: cfg.Logger,
		Kernel: keystore.NewKernelSessions(filepath.Dir(cfg.Socket))})
	if restored, err := sessions.RestoreKernel(); err != nil {
		cfg.Logger.Warn("could not restore sessions from the kernel's keyring", "error", err.Error())
	} else if len(restored) > 0 {
		cfg.Logger.Info("restored sessions from the kernel's keyring", "profiles", restored)
	}
	sessions.Refresh(ctx)
	notes := newNotices(cfg.Notifier, cfg.Logger, cfg.WarnBefore)
	source := &credentialSource{sessions: sessions, served: cfg.Profile, notices: notes,
		auto: newAutoUnlock(sessions, notes, cfg.Logger), restoring: make(chan struct{})}
	served := &servedProfile{creds: source, name: cfg.Profile}
	served.setProfile(profile)
	tcp := cfg.Listener
	if tcp == nil {
		if tcp, err = listenTCP(ctx, cfg.Listen); err != nil {
			if squat := CheckHolder(cfg.Listen); squat != nil {
				return squat
			}
			return ipc.NewError(ipc.KindBadRequest, "failed to listen on "+cfg.Listen+": "+err.Error(),
				"is another mfad of yours running (`mfad status`)? or choose another port with --listen 127.0.0.1:PORT")
		}
	}
	defer tcp.Close()
	sock, err := ipc.Listen(cfg.Socket)
	if err != nil {
		return err
	}
	defer sock.Close()
	stateDir, err := ipc.StateDir(cfg.Socket)
	if err != nil {
		return err
	}
	// The tokens live as long as the login (the runtime directory), not
	// as long as this process: a restart or an upgrade leaves every
	// client's token good.
	tokenFile := filepath.Join(stateDir, "container-token")
	containerToken, err := keptSecret(tokenFile, func() []byte { return []byte(randomToken()) }, validContainerToken)
	if err != nil {
		return fmt.Errorf("failed to keep the container endpoint's token: %w", err)
	}
	tokenKey, err := keptSecret(filepath.Join(stateDir, "imds-token-key"), func() []byte {
		key := make([]byte, imds.TokenKeySize)
		if _, err := rand.Read(key); err != nil {
			panic("mfad: no randomness: " + err.Error())
		}
		return key
	}, func(b []byte) bool { return len(b) == imds.TokenKeySize })
	if err != nil {
		return fmt.Errorf("failed to keep the IMDS token key: %w", err)
	}
	imdsHandler := imds.NewHandler(served, imds.Options{
		AllowIMDSv1: cfg.AllowIMDSv1,
		Logger:      cfg.Logger,
		TokenKey:    tokenKey,
		Container: &imds.ContainerOptions{
			Token: string(containerToken),
			Credentials: func(ctx context.Context, profile string) (imds.Credentials, error) {
				return source.credentials(ctx, profile)
			},
		},
	})
	prompt := &promptFile{path: filepath.Join(stateDir, PromptFile), served: cfg.Profile, warnBefore: cfg.WarnBefore}
	defer prompt.remove()
	source.auto.onUnlock = func() { prompt.update(sessions, time.Now()) }

	endpoint := "http://" + tcp.Addr().String() + "/"
	ctl := &controller{cfg: cfg, sessions: sessions, imds: imdsHandler, served: served, endpoint: endpoint, prompt: prompt, auto: source.auto,
		containerEndpoint: strings.TrimSuffix(endpoint, "/") + imds.ContainerPathPrefix, containerTokenFile: tokenFile}
	guarded := newGuardedListener(tcp, cfg.Logger, &ctl.refusedOtherUser, IdleTrimAfter, freeOSMemory)
	imdsServer := guarded.server(imdsHandler, cfg.Logger)
	ipcServer := ipc.NewServer(ctl, cfg.Logger)

	prompt.update(sessions, time.Now())
	go maintain(ctx, notes, sessions, source.auto, ctl.refresh, prompt, 30*time.Second)
	failed := make(chan error, 2)
	go func() { failed <- imdsServer.Serve(guarded) }()
	go func() { failed <- ipcServer.Serve(sock) }()
	go func() {
		defer close(source.restoring)
		ctl.restoreFromKeyring(ctx)
	}()
	if cfg.OnReady != nil {
		cfg.OnReady()
	}
	cfg.Logger.Info("mfad is serving", "imds", ctl.endpoint, "profile", cfg.Profile, "socket", cfg.Socket,
		"region", profile.Region, "pid", os.Getpid())

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-failed:
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	guarded.drain(2 * time.Second)
	_ = imdsServer.Shutdown(shutdownCtx)
	_ = ipcServer.Shutdown(shutdownCtx)
	cfg.Logger.Info("mfad stopped")
	if serveErr != nil && !errors.Is(serveErr, http.ErrServerClosed) {
		return serveErr
	}
	return nil
}

// CheckLoopback refuses a listen address that other hosts could reach (the
// endpoint hands out credentials to whoever asks), and a host name: only a
// literal loopback address.
func CheckLoopback(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return ipc.NewError(ipc.KindBadRequest, "invalid listen address "+addr+": "+err.Error(), "use the form 127.0.0.1:PORT")
	}
	if strings.EqualFold(strings.TrimSuffix(host, "."), "localhost") {
		// localhost may resolve to ::1 before 127.0.0.1 in a client,
		// where another user could listen on the same port: the
		// endpoint is always a literal address.
		return ipc.NewError(ipc.KindBadRequest,
			"refusing to listen on "+addr+": clients may resolve localhost to ::1, where another user could listen on port "+port+" and hand out their credentials",
			"use --listen 127.0.0.1:"+port+": mfad writes only literal addresses into the environment")
	}
	ip, err := netip.ParseAddr(host)
	if err != nil || !ip.IsLoopback() {
		return ipc.NewError(ipc.KindBadRequest,
			"refusing to listen on "+addr+": mfad serves credentials, so it listens on loopback only",
			"use --listen 127.0.0.1:PORT or --listen [::1]:PORT")
	}
	return nil
}

// keptSecret returns the secret in the file at path, or, when there is none
// that valid accepts, a new one from create, written there first (0600, in
// the private runtime directory).
func keptSecret(path string, create func() []byte, valid func([]byte) bool) ([]byte, error) {
	if b, err := os.ReadFile(path); err == nil && valid(b) {
		return b, nil
	}
	b := create()
	return b, privatefile.Write(path, b)
}

// validContainerToken reports whether b is a token randomToken made.
func validContainerToken(b []byte) bool {
	raw, err := base64.RawURLEncoding.DecodeString(string(b))
	return err == nil && len(raw) == 32
}

// randomToken returns 256 random bits, URL-safe.
func randomToken() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("mfad: no randomness: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// roleName is the name listed on the IMDS role path. botocore puts it into a
// URL unescaped, so a profile name that is not a valid role name is not used.
func roleName(profile string) string {
	if isRoleName(profile) {
		return profile
	}
	return "mfad"
}

// isRoleName reports whether s is a valid IAM role name: 1 to 64 ASCII
// letters, digits and _+=,.@- characters. (A regexp of it kept 27 kB of
// compiled program in the daemon's heap for good.)
func isRoleName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		case strings.IndexByte("_+=,.@-", c) >= 0:
		default:
			return false
		}
	}
	return true
}

// servedProfile is the imds.Source of the profile on the IMDS endpoint.
type servedProfile struct {
	creds *credentialSource
	name  string
	id    atomic.Pointer[imds.Identity]
}

// setProfile updates what the endpoint says of the profile: the config
// file may have changed since the daemon started.
func (s *servedProfile) setProfile(p *awsconfig.Profile) {
	s.id.Store(&imds.Identity{RoleName: roleName(s.name), AccountID: p.AccountID, Region: p.Region})
}

func (s *servedProfile) Identity() imds.Identity { return *s.id.Load() }

func (s *servedProfile) Credentials(ctx context.Context) (imds.Credentials, error) {
	return s.creds.credentials(ctx, s.name)
}

// credentialSource answers both endpoints from the sessions in memory.
// When a profile is locked it says what to run, tells the user on the
// desktop, and starts the profile's mfa_process if it has one; none of
// that holds up the answer.
type credentialSource struct {
	sessions *session.Manager
	served   string // the profile `mfad unlock` unlocks without --profile
	notices  *notices
	auto     *autoUnlock
	// restoring is closed once the sessions kept in the keyring are back
	// (or cannot be had): until then a locked profile may be one the
	// keyring holds.
	restoring chan struct{}
}

// restoreWait bounds how long a request for a locked profile waits for
// the keyring's sessions at start: about a key derivation, well within
// the SDKs' timeouts. A client that connected before the daemon was up
// (socket activation) would otherwise be told "locked" for a session it
// is about to have.
const restoreWait = 2 * time.Second

// waitForRestore waits, while the keyring's sessions are being restored,
// until they are back (or restoreWait has passed), and reports whether
// they came back meanwhile.
func (c *credentialSource) waitForRestore(ctx context.Context) bool {
	select {
	case <-c.restoring:
		return false
	default:
	}
	timer := time.NewTimer(restoreWait)
	defer timer.Stop()
	select {
	case <-c.restoring:
		return true
	case <-timer.C:
	case <-ctx.Done():
	}
	return false
}

func (c *credentialSource) credentials(ctx context.Context, profile string) (imds.Credentials, error) {
	if !c.sessions.Known(profile) {
		// Perhaps added to the config file a moment ago: a stat tells.
		c.sessions.Refresh(ctx)
		if !c.sessions.Known(profile) {
			e := awsconfig.NotFoundError(profile)
			return imds.Credentials{}, &imds.UnavailableError{Code: "ProfileNotFound", Message: "mfad: " + e.Message + "; " + e.Hint}
		}
	}
	s, err := c.sessions.Credentials(profile)
	var locked *session.LockedError
	if errors.As(err, &locked) && c.waitForRestore(ctx) {
		s, err = c.sessions.Credentials(profile)
	}
	if err != nil {
		var pending *session.PendingError
		if errors.As(err, &pending) {
			return imds.Credentials{}, &imds.UnavailableError{Code: "RoleCredentialsPending", Message: "mfad: " + err.Error()}
		}
		if !errors.As(err, &locked) {
			return imds.Credentials{}, err
		}
		now := time.Now()
		c.notices.locked(profile, now)
		c.auto.trigger(profile, now)
		remedy := "mfad unlock"
		if profile != c.served {
			remedy += " --profile " + profile
		}
		return imds.Credentials{}, &imds.UnavailableError{Code: "MFASessionLocked", Message: "mfad: " + err.Error() + "; run `" + remedy + "`"}
	}
	return imds.Credentials{
		AccessKeyID:     s.AccessKeyID,
		SecretAccessKey: s.SecretAccessKey.Reveal(),
		SessionToken:    s.SessionToken.Reveal(),
		Expiration:      s.Expiration,
		LastUpdated:     s.ObtainedAt,
		AccountID:       s.AccountID,
	}, nil
}

// maintain keeps the sessions: every interval, whenever a request found a
// role session missing, and when the prompt file's text is due to change,
// it assumes the roles that need it, checks how close each MFA session is
// to its end, and rewrites the prompt file. It makes every STS call that no
// user command asked for, so none is made on a request's path.
func maintain(ctx context.Context, n *notices, sessions *session.Manager, auto *autoUnlock, refresh func(context.Context), prompt *promptFile, interval time.Duration) {
	for {
		refresh(ctx)
		sessions.Maintain(ctx)
		now := time.Now()
		ends := sessions.Expirations()
		n.checkExpiry(now, ends)
		wait := interval
		due := func(t time.Time) {
			if t.After(now) && t.Sub(now) < wait {
				wait = t.Sub(now) + 10*time.Millisecond
			}
		}
		// A session whose profile has mfa_process is renewed with it
		// before it ends, as role sessions are.
		for root, end := range ends {
			if left := end.Sub(now); left > session.LastServed && left <= session.RenewBefore {
				auto.renew(root, now)
			}
			due(end.Add(-session.RenewBefore))
		}
		due(prompt.update(sessions, now))
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		case <-sessions.Wake():
		}
	}
}

// controller carries out the control socket's requests.
type controller struct {
	cfg      Config
	sessions *session.Manager
	imds     *imds.Handler
	served   *servedProfile
	prompt   *promptFile
	auto     *autoUnlock
	endpoint string
	// containerEndpoint is the container endpoint's URL, less the profile.
	containerEndpoint  string
	containerTokenFile string
	// refusedOtherUser counts connections refused for another user's.
	refusedOtherUser atomic.Uint64
}

// profile returns the profile a request names (the served one when it
// names none), after reading the config file again if it changed: a
// profile just added is known to the very next command.
func (c *controller) profile(ctx context.Context, name string) (string, error) {
	c.refresh(ctx)
	if name == "" {
		return c.cfg.Profile, nil
	}
	if !c.sessions.Known(name) {
		return "", awsconfig.NotFoundError(name)
	}
	return name, nil
}

// refresh reads the config file again if it changed, and updates what the
// IMDS endpoint says of the served profile.
func (c *controller) refresh(ctx context.Context) {
	if c.sessions.Refresh(ctx) {
		if p, err := awsconfig.Load(ctx, c.served.name); err == nil {
			c.served.setProfile(p)
		}
		if c.prompt != nil {
			c.prompt.update(c.sessions, time.Now())
		}
	}
}

func (c *controller) Status(ctx context.Context) (ipc.Status, error) {
	c.refresh(ctx)
	s := c.imds.Stats()
	return ipc.Status{
		Version:            c.cfg.Version,
		PID:                os.Getpid(),
		IMDSEndpoint:       c.endpoint,
		IMDSProfile:        c.cfg.Profile,
		ContainerEndpoint:  c.containerEndpoint,
		ContainerTokenFile: c.containerTokenFile,
		Profiles:           c.sessions.Status(c.cfg.Profile),
		WarnBeforeSeconds:  int(c.cfg.WarnBefore / time.Second),
		KeyringLocked:      c.cfg.Keyring != nil && c.cfg.Keyring.Locked(),
		KeyringWaiting:     c.keyringWaiting(),
		KeyringPassphrase:  c.cfg.Keyring != nil && c.cfg.Keyring.Locked() && c.cfg.Keyring.NeedsPassphrase(),
		IMDS: ipc.IMDSStats{
			TokensIssued: s.TokensIssued, TokenRequests: s.TokenRequests, V1Requests: s.V1Requests,
			CredentialsServed: s.CredentialsServed, CredentialsLocked: s.Unavailable,
			Unauthorized: s.Unauthorized, Refused: s.Refused, RefusedOtherUser: c.refusedOtherUser.Load(),
		},
	}, nil
}

// admin returns the keyring for the key commands, or an error saying the
// daemon has none to offer (tests run it with a fixed one).
func (c *controller) admin() (KeyAdmin, error) {
	if c.cfg.Admin == nil {
		return nil, ipc.NewError(ipc.KindBadRequest, "this daemon offers no keyring to the key commands", "stop it, or open the keyring directly")
	}
	return c.cfg.Admin, nil
}

func (c *controller) ListKeys(context.Context) (ipc.KeysList, error) {
	a, err := c.admin()
	if err != nil {
		return ipc.KeysList{}, err
	}
	profiles, err := a.Profiles()
	return ipc.KeysList{Backend: a.Backend(), Profiles: profiles}, err
}

func (c *controller) GetKeys(_ context.Context, req ipc.KeysRequest) (ipc.KeysResponse, error) {
	a, err := c.admin()
	if err != nil {
		return ipc.KeysResponse{}, err
	}
	k, err := a.Keys(req.Profile)
	if err != nil {
		return ipc.KeysResponse{}, err
	}
	return ipc.KeysResponse{AccessKeyID: k.AccessKeyID, SecretAccessKey: k.SecretAccessKey.Reveal()}, nil
}

func (c *controller) PutKeys(_ context.Context, req ipc.KeysRequest) (ipc.KeysResponse, error) {
	a, err := c.admin()
	if err != nil {
		return ipc.KeysResponse{}, err
	}
	k, err := keystore.ParseKeys(req.AccessKeyID, req.SecretAccessKey)
	if err != nil {
		return ipc.KeysResponse{}, err
	}
	if err := a.PutKeys(req.Profile, k); err != nil {
		return ipc.KeysResponse{}, err
	}
	c.cfg.Logger.Info("stored keys", "profile", req.Profile, "key", secret.MaskKeyID(k.AccessKeyID))
	return ipc.KeysResponse{}, nil
}

func (c *controller) RemoveKeys(ctx context.Context, req ipc.KeysRequest) (ipc.KeysResponse, error) {
	a, err := c.admin()
	if err != nil {
		return ipc.KeysResponse{}, err
	}
	if err := a.RemoveKeys(req.Profile); err != nil {
		return ipc.KeysResponse{}, err
	}
	c.cfg.Logger.Info("removed keys", "profile", req.Profile)
	return ipc.KeysResponse{}, nil
}

// keyringWaiting says what a locked keyring waits for, or "".
func (c *controller) keyringWaiting() string {
	if c.cfg.Keyring == nil || !c.cfg.Keyring.Locked() {
		return ""
	}
	return c.cfg.Keyring.Waiting()
}

func (c *controller) OpenKeyring(ctx context.Context, req ipc.KeyringRequest) (ipc.KeyringResponse, error) {
	if req.Close {
		closed := c.cfg.Keyring != nil && c.cfg.Keyring.Close()
		if closed {
			c.cfg.Logger.Info("keyring closed: the next unlock asks for its passphrase")
		}
		return ipc.KeyringResponse{Closed: closed}, nil
	}
	if c.cfg.Keyring == nil || !c.cfg.Keyring.Locked() {
		return ipc.KeyringResponse{}, nil
	}
	if err := c.cfg.Keyring.Open(req.Passphrase); err != nil {
		c.cfg.Logger.Warn("could not open the keyring", "error", err.Error())
		return ipc.KeyringResponse{}, err
	}
	c.cfg.Logger.Info("keyring opened with the passphrase from mfad unlock")
	return ipc.KeyringResponse{Restored: c.restore(ctx)}, nil
}

// freeOSMemory forces a collection and hands the free heap back to the
// system. A variable so that tests see when the daemon does it.
var freeOSMemory = debug.FreeOSMemory

// restoreFromKeyring opens the keyring with the passphrase the daemon was
// given, if any, then takes back the sessions kept there: what the
// kernel's keyring did not hold (after a reboot).
func (c *controller) restoreFromKeyring(ctx context.Context) {
	// The end of start-up: its garbage (the config file's parse, the
	// keyring's files and their decryption, TLS tables) is handed back,
	// so that an idle daemon stays small. Once, here, and not as serving
	// begins as well: a forced collection stops the world and returns
	// pages for milliseconds, just when a restarted daemon's first
	// clients are at the door (exec to the first credential document,
	// median of 40 alternating starts: 13.5 ms with it, 10.2 without;
	// mfad-bench -ab).
	defer freeOSMemory()
	if c.cfg.OpenKeyring != nil {
		if err := c.cfg.OpenKeyring(); err != nil {
			c.cfg.Logger.Error("the passphrase in the environment does not open the keyring; `mfad unlock` asks for it", "error", err.Error())
			return
		}
		c.cfg.Logger.Debug("keyring opened with the passphrase from the environment")
	}
	c.restore(ctx)
}

// restore takes back the sessions kept in the keyring (the keyring just
// opened) and returns the profiles restored.
func (c *controller) restore(ctx context.Context) []string {
	restored, err := c.sessions.Restore()
	if err != nil {
		c.cfg.Logger.Warn("could not restore kept sessions", "error", err.Error())
	} else if len(restored) > 0 {
		c.cfg.Logger.Info("restored sessions from the keyring", "profiles", restored)
	}
	c.refresh(ctx)
	c.prompt.update(c.sessions, time.Now())
	c.sessions.Poke()
	return restored
}

func (c *controller) Unlock(ctx context.Context, req ipc.UnlockRequest) (ipc.UnlockResponse, error) {
	profile, err := c.profile(ctx, req.Profile)
	if err != nil {
		return ipc.UnlockResponse{}, err
	}
	var creds awssts.Credentials
	if req.Code == "" && req.MFAProcess {
		err = c.auto.unlockNow(ctx, profile)
		if errors.Is(err, errNoMFAProcess) {
			err = ipc.NewError(ipc.KindBadRequest, "profile "+profile+" has no mfa_process", "type the code: run `mfad unlock` in a terminal, or pass --code")
		}
		if err == nil {
			var s session.Session
			s, err = c.sessions.Credentials(c.sessions.RootOf(profile))
			creds = s.Credentials
		}
	} else {
		creds, err = c.sessions.Unlock(ctx, profile, secret.New(req.Code))
	}
	if err != nil {
		c.cfg.Logger.Warn("unlock failed", "profile", profile, "error", err.Error())
		return ipc.UnlockResponse{}, err
	}
	c.prompt.update(c.sessions, time.Now())
	c.sessions.Poke() // the maintainer looks at the new session's end
	freeOSMemory()    // the STS round trip's garbage, as after start-up
	c.cfg.Logger.Info("unlocked", "profile", profile, "session_key", secret.MaskKeyID(creds.AccessKeyID),
		"expires", creds.Expiration.Format(time.RFC3339))
	resp := ipc.UnlockResponse{Profile: profile, Source: c.sessions.RootOf(profile),
		MFAExpiration: creds.Expiration.UTC().Format(time.RFC3339)}
	resp.Expiration = resp.MFAExpiration
	if own, err := c.sessions.Credentials(profile); err == nil {
		resp.Expiration = own.Expiration.UTC().Format(time.RFC3339)
	}
	return resp, nil
}

func (c *controller) Lock(ctx context.Context, req ipc.LockRequest) (ipc.LockResponse, error) {
	profile, err := c.profile(ctx, req.Profile)
	if err != nil {
		return ipc.LockResponse{}, err
	}
	root := c.sessions.RootOf(profile)
	roles := c.sessions.RolesOf(root)
	was, err := c.sessions.Lock(profile)
	c.prompt.update(c.sessions, time.Now())
	c.cfg.Logger.Info("locked", "profile", root, "roles", roles, "had_session", was)
	if err != nil {
		// Locked in memory; the kept copy would come back at restart.
		return ipc.LockResponse{}, ipc.NewError(ipc.KindKeyring,
			"locked, but the session kept in the keyring could not be removed: "+err.Error(),
			"run `mfad lock` again once the keyring is reachable")
	}
	return ipc.LockResponse{Profile: profile, WasLocked: was, Source: root, Roles: roles}, nil
}
