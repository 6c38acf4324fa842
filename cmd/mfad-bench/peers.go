package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// The servers mfad is measured against, each in a process of its own as
// the daemon is: serving from the load generator's own process would spare
// them the cost of crossing processes.
//
//   - bare: the fastest server the same load can meet, net/http's own
//     ServeMux answering fixed bodies (the ceiling);
//   - aws-vault: a stand-in doing per request what aws-vault's EC2 and ECS
//     credential servers do (read from their source, written anew here);
//   - ec2-metadata-mock: amazon-ec2-metadata-mock, built from the module
//     proxy (it fails at more than one client: one client only).

// peerFlag is how mfad-bench runs itself as a peer server:
// mfad-bench -serve-peer KIND IMDS-DOCUMENT-FILE CONTAINER-DOCUMENT-FILE.
const peerFlag = "-serve-peer"

// process is a server the benchmark started.
type process struct {
	name  string
	cmd   *exec.Cmd
	addrs []string // what it printed: its listeners
}

func (p *process) pid() int { return p.cmd.Process.Pid }

// stop ends the server: SIGTERM first, so that a peer writing a profile
// (peerProfileEnv) finishes it.
func (p *process) stop() {
	p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-done
	}
}

// peerProfileEnv, set for a peer server, names the file it writes a CPU
// profile to (mfad-bench -cpuprofile FILE: FILE.bare, FILE.aws-vault).
const peerProfileEnv = "MFAD_BENCH_PEER_PROFILE"

// startPeer runs this binary as the peer server kind, serving the
// credential documents in the files, and returns once it listens.
func startPeer(kind, imdsDoc, containerDoc, profile string, listeners int) (*process, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, peerFlag, kind, imdsDoc, containerDoc) // main_test.go's TestMain knows this form too
	cmd.Stderr = os.Stderr
	if profile != "" {
		cmd.Env = append(os.Environ(), peerProfileEnv+"="+profile+"."+kind)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{name: kind, cmd: cmd}
	lines := bufio.NewReader(out)
	for range listeners {
		addr, err := lines.ReadString('\n')
		if err != nil {
			p.stop()
			return nil, fmt.Errorf("%s server: %w", kind, err)
		}
		p.addrs = append(p.addrs, strings.TrimSpace(addr))
	}
	return p, nil
}

// servePeer is a peer server's process: it prints the address of each
// listener and serves until killed.
func servePeer(kind, imdsDoc, containerDoc string) {
	doc, err := os.ReadFile(imdsDoc)
	if err != nil {
		log.Fatal(err)
	}
	cdoc, err := os.ReadFile(containerDoc)
	if err != nil {
		log.Fatal(err)
	}
	var handlers []func(addr string) http.Handler
	switch kind {
	case "bare":
		handlers = append(handlers, func(string) http.Handler { return bareServer(doc, cdoc) })
	case "aws-vault":
		var creds savedCredentials
		if err := json.Unmarshal(doc, &creds); err != nil {
			log.Fatal(err)
		}
		cache := &credentialsCache{}
		cache.creds.Store(&creds)
		handlers = append(handlers,
			func(addr string) http.Handler { return awsVaultEC2(addr, cache) },
			func(string) http.Handler { return awsVaultECS(benchContainerToken, cache) })
	default:
		log.Fatalf("unknown peer %q", kind)
	}
	if path := os.Getenv(peerProfileEnv); path != "" {
		f, err := os.Create(path)
		if err != nil {
			log.Fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			log.Fatal(err)
		}
		stop := make(chan os.Signal, 1)
		signal.Notify(stop, syscall.SIGTERM)
		go func() {
			<-stop
			pprof.StopCPUProfile()
			f.Close()
			os.Exit(0)
		}()
	}
	failed := make(chan error)
	for _, handler := range handlers {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			log.Fatal(err)
		}
		fmt.Println(ln.Addr().String())
		srv := &http.Server{Handler: handler(ln.Addr().String()), ErrorLog: log.New(io.Discard, "", 0)}
		go func() { failed <- srv.Serve(ln) }()
	}
	log.Fatal(<-failed)
}

// benchContainerToken is the container endpoint's token for the peers.
const benchContainerToken = "bench-container-token"

// bareServer answers the IMDS sequence and the container path with fixed
// bodies, and checks nothing.
func bareServer(doc, containerDoc []byte) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /latest/api/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"))
		io.WriteString(w, "AQAEAKxfLX7KvDxDsT2YtLswCwI4Wkl4ldaf9TiErJs0OPzJRBaabvAQ==")
	})
	mux.HandleFunc("GET /latest/meta-data/iam/security-credentials/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "default")
	})
	mux.HandleFunc("GET /latest/meta-data/iam/security-credentials/default", func(w http.ResponseWriter, r *http.Request) {
		w.Write(doc)
	})
	mux.HandleFunc("GET /profiles/default", func(w http.ResponseWriter, r *http.Request) {
		w.Write(containerDoc)
	})
	return mux
}

// savedCredentials are the session credentials the peers serve, read from
// the document mfad served.
type savedCredentials struct {
	AccessKeyID     string    `json:"AccessKeyId"`
	SecretAccessKey string    `json:"SecretAccessKey"`
	Token           string    `json:"Token"`
	Expiration      time.Time `json:"Expiration"`
}

// credentialsCache hands out credentials as the SDK's aws.CredentialsCache
// does once it holds them: a load and an expiry check.
type credentialsCache struct {
	creds atomic.Pointer[savedCredentials]
}

func (c *credentialsCache) retrieve() (*savedCredentials, error) {
	creds := c.creds.Load()
	if creds == nil || !time.Now().Before(creds.Expiration) {
		return nil, errors.New("credentials expired")
	}
	return creds, nil
}

// iso8601 is aws-vault's time format.
func iso8601(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05Z") }

// discardLog is aws-vault's logger without --debug.
var discardLog = log.New(io.Discard, "", log.LstdFlags)

func withLogging(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		next.ServeHTTP(w, r)
		discardLog.Printf("http: %s: %s %s (%s)", r.RemoteAddr, r.Method, r.URL, time.Since(start))
	})
}

// awsVaultEC2 does per request what aws-vault's EC2 metadata server does:
// a loopback check of the peer, an exact Host check, a ServeMux, and a
// credential document encoded anew from a map. It has no IMDSv2 token
// path: SDKs fall back to IMDSv1 after the PUT's 404.
func awsVaultEC2(host string, creds *credentialsCache) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/latest/meta-data/iam/security-credentials/", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "local-credentials")
	})
	mux.HandleFunc("/latest/meta-data/iam/security-credentials/local-credentials", func(w http.ResponseWriter, r *http.Request) {
		c, err := creds.retrieve()
		if err != nil {
			http.Error(w, err.Error(), http.StatusGatewayTimeout)
			return
		}
		discardLog.Printf("Serving credentials via http ****************%s, expiration of %s (%s)",
			c.AccessKeyID[len(c.AccessKeyID)-4:], c.Expiration.Format(time.RFC3339), time.Until(c.Expiration).String())
		err = json.NewEncoder(w).Encode(map[string]any{
			"Code":            "Success",
			"LastUpdated":     iso8601(time.Now()),
			"Type":            "AWS-HMAC",
			"AccessKeyId":     c.AccessKeyID,
			"SecretAccessKey": c.SecretAccessKey,
			"Token":           c.Token,
			"Expiration":      iso8601(c.Expiration),
		})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
		}
	})
	return withLogging(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ip, _, err := net.SplitHostPort(r.RemoteAddr)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		if !net.ParseIP(ip).IsLoopback() {
			http.Error(w, "Access denied from non-localhost address", http.StatusUnauthorized)
			return
		}
		if r.Host != host {
			http.Error(w, fmt.Sprintf("Access denied for host '%s'", r.Host), http.StatusUnauthorized)
			return
		}
		mux.ServeHTTP(w, r)
	}))
}

// awsVaultECS does per request what aws-vault's ECS credential server
// does: compare the Authorization header, route, encode a map.
func awsVaultECS(token string, creds *credentialsCache) http.Handler {
	writeError := func(w http.ResponseWriter, msg string, status int) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(status)
		json.NewEncoder(w).Encode(map[string]string{"Message": msg})
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		c, err := creds.retrieve()
		if err != nil {
			writeError(w, err.Error(), http.StatusInternalServerError)
			return
		}
		err = json.NewEncoder(w).Encode(map[string]string{
			"AccessKeyId":     c.AccessKeyID,
			"SecretAccessKey": c.SecretAccessKey,
			"Token":           c.Token,
			"Expiration":      iso8601(c.Expiration),
		})
		if err != nil {
			writeError(w, err.Error(), http.StatusInternalServerError)
		}
	})
	return withLogging(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != token {
			writeError(w, "invalid Authorization token", http.StatusForbidden)
			return
		}
		mux.ServeHTTP(w, r)
	}))
}

// ec2MetadataMock is amazon-ec2-metadata-mock's module and version.
const ec2MetadataMock = "github.com/aws/amazon-ec2-metadata-mock/cmd/ec2-metadata-mock@v1.13.0"

// startMetadataMock builds amazon-ec2-metadata-mock into dir and runs it,
// IMDSv2 only, on a free loopback port.
func startMetadataMock(dir string) (*process, error) {
	install := exec.Command("go", "install", ec2MetadataMock)
	install.Env = append(os.Environ(), "GOBIN="+dir, "CGO_ENABLED=0")
	if out, err := install.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("go install %s: %v: %s", ec2MetadataMock, err, out)
	}
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(filepath.Join(dir, "ec2-metadata-mock"), "--hostname", "127.0.0.1", "--port", port, "--imdsv2")
	cmd.Env = []string{"HOME=" + dir, "PATH=" + os.Getenv("PATH")}
	cmd.Dir = dir
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &process{name: "ec2-metadata-mock", cmd: cmd, addrs: []string{"127.0.0.1:" + port}}
	if err := waitListening(p.addrs[0], 30*time.Second); err != nil {
		p.stop()
		return nil, fmt.Errorf("ec2-metadata-mock: %w", err)
	}
	return p, nil
}

func freePort() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	_, port, err := net.SplitHostPort(ln.Addr().String())
	return port, err
}

func waitListening(addr string, within time.Duration) error {
	deadline := time.Now().Add(within)
	for {
		c, err := net.Dial("tcp", addr)
		if err == nil {
			c.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		time.Sleep(5 * time.Millisecond)
	}
}
