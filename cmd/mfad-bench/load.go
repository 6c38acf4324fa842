package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// endpoint is one server under load and the sequence a client makes of it.
type endpoint struct {
	name string
	addr string // host:port
	pid  int    // the serving process, for its CPU time
	// container, when set, is the container endpoint's path: a sequence is
	// one GET with authorization, as an SDK makes it. Otherwise a sequence
	// is IMDSv2's three requests.
	container     string
	authorization string
}

// loadResult is one timed run against one endpoint.
type loadResult struct {
	sequences int
	elapsed   time.Duration
	cpu       time.Duration // the server's CPU time (user + system) during the run
	latencies []time.Duration
	failures  int
	firstErr  error
}

// add counts another run's figures into r, as one run; its latencies are
// left for the caller to sort.
func (r *loadResult) add(o loadResult) {
	r.sequences += o.sequences
	r.elapsed += o.elapsed
	r.cpu += o.cpu
	r.latencies = append(r.latencies, o.latencies...)
	if r.failures == 0 {
		r.firstErr = o.firstErr
	}
	r.failures += o.failures
}

func (r loadResult) rate() float64 { return float64(r.sequences) / r.elapsed.Seconds() }

// cpuPerSequence is the server's CPU time per sequence served.
func (r loadResult) cpuPerSequence() time.Duration {
	if r.sequences == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.sequences)
}

func (r loadResult) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	return r.latencies[int(p*float64(len(r.latencies)-1))]
}

// runLoad drives e with concurrency clients for d. fresh opens a new TCP
// connection for each sequence, as a new CLI process does; otherwise each
// client keeps its connection, as a long-running SDK does.
//
// The clients speak HTTP/1.1 over raw sockets with requests built once: a
// load generator that costs little leaves the two shared cores to the
// server, so differences between servers show rather than drown.
func runLoad(e endpoint, concurrency int, d time.Duration, fresh bool) loadResult {
	var stop atomic.Bool
	var failures atomic.Int64
	var firstErr error
	var errOnce sync.Once
	latencies := make([][]time.Duration, concurrency)
	var wg sync.WaitGroup
	cpu0 := cpuTime(e.pid)
	start := time.Now()
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c := &client{e: e}
			defer c.close()
			for !stop.Load() {
				t0 := time.Now()
				err := c.sequence()
				if err != nil {
					failures.Add(1)
					errOnce.Do(func() { firstErr = err })
					c.close()
				} else {
					latencies[w] = append(latencies[w], time.Since(t0))
				}
				if fresh {
					c.close()
				}
			}
		}()
	}
	time.Sleep(d)
	stop.Store(true)
	wg.Wait()
	r := loadResult{elapsed: time.Since(start), cpu: cpuTime(e.pid) - cpu0, failures: int(failures.Load()), firstErr: firstErr}
	for _, l := range latencies {
		r.latencies = append(r.latencies, l...)
	}
	r.sequences = len(r.latencies)
	slices.Sort(r.latencies)
	return r
}

// client is one SDK-like client of an endpoint, on one connection at a time.
type client struct {
	e    endpoint
	conn net.Conn
	in   *bufio.Reader
	out  []byte
	body []byte
	role []byte
}

func (c *client) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}

// connect opens a connection unless c has one.
func (c *client) connect() error {
	if c.conn != nil {
		return nil
	}
	conn, err := net.Dial("tcp", c.e.addr)
	if err != nil {
		return err
	}
	c.conn = conn
	if c.in == nil {
		c.in = bufio.NewReaderSize(conn, 4096)
	} else {
		c.in.Reset(conn)
	}
	return nil
}

// sequence fetches credentials once, as an SDK does.
func (c *client) sequence() error {
	if err := c.connect(); err != nil {
		return err
	}
	if c.e.container != "" {
		_, err := c.do("GET", c.e.container, "Authorization", c.e.authorization)
		return err
	}
	status, err := c.do("PUT", "/latest/api/token", "X-aws-ec2-metadata-token-ttl-seconds", "21600")
	if err != nil && status != 404 && status != 403 {
		return err
	}
	// Without IMDSv2 (404 or 403 to the PUT), an SDK goes on without a
	// token, as against aws-vault's server.
	tokenHeader, token := "X-aws-ec2-metadata-token", string(c.body)
	if err != nil {
		tokenHeader, token = "", ""
	}
	const list = "/latest/meta-data/iam/security-credentials/"
	if _, err := c.do("GET", list, tokenHeader, token); err != nil {
		return err
	}
	role := c.body
	if i := bytes.IndexByte(role, '\n'); i >= 0 {
		role = role[:i]
	}
	c.role = append(append(c.role[:0], list...), role...)
	_, err = c.do("GET", string(c.role), tokenHeader, token)
	return err
}

// do sends one request and reads its answer into c.body; an error for any
// status but 200, with the status.
func (c *client) do(method, path, header, value string) (int, error) {
	b := c.out[:0]
	b = append(b, method...)
	b = append(b, ' ')
	b = append(b, path...)
	b = append(b, " HTTP/1.1\r\nHost: "...)
	b = append(b, c.e.addr...)
	b = append(b, "\r\nUser-Agent: mfad-bench\r\nAccept-Encoding: identity\r\n"...)
	if method == "PUT" {
		b = append(b, "Content-Length: 0\r\n"...)
	}
	if header != "" {
		b = append(b, header...)
		b = append(b, ": "...)
		b = append(b, value...)
		b = append(b, "\r\n"...)
	}
	b = append(b, "\r\n"...)
	c.out = b
	if c.conn == nil {
		return 0, errors.New("the server closed the connection")
	}
	if _, err := c.conn.Write(b); err != nil {
		return 0, err
	}
	status, err := c.readResponse()
	if err != nil {
		return status, err
	}
	if status != 200 {
		return status, fmt.Errorf("%s %s: status %d: %.200s", method, path, status, c.body)
	}
	return status, nil
}

var errMalformed = errors.New("malformed response")

// readResponse reads a status line, headers and a body of Content-Length
// bytes or chunks.
func (c *client) readResponse() (int, error) {
	line, err := c.in.ReadSlice('\n')
	if err != nil {
		return 0, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, errMalformed
	}
	status, err := strconv.Atoi(string(line[9:12]))
	if err != nil {
		return 0, errMalformed
	}
	length, chunked, closing := -1, false, false
	for {
		line, err := c.in.ReadSlice('\n')
		if err != nil {
			return status, err
		}
		if len(line) <= 2 {
			break
		}
		name, value, ok := bytes.Cut(bytes.TrimRight(line, "\r\n"), []byte(":"))
		if !ok {
			return status, errMalformed
		}
		value = bytes.TrimSpace(value)
		switch {
		case bytes.EqualFold(name, []byte("Content-Length")):
			if length, err = strconv.Atoi(string(value)); err != nil {
				return status, errMalformed
			}
		case bytes.EqualFold(name, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(value, []byte("chunked"))
		case bytes.EqualFold(name, []byte("Connection")):
			closing = bytes.EqualFold(value, []byte("close"))
		}
	}
	c.body = c.body[:0]
	switch {
	case chunked:
		err = c.readChunks()
	case length >= 0:
		c.body = slices.Grow(c.body, length)[:length]
		_, err = io.ReadFull(c.in, c.body)
	default:
		return status, errMalformed
	}
	if closing {
		c.close()
	}
	return status, err
}

func (c *client) readChunks() error {
	for {
		line, err := c.in.ReadSlice('\n')
		if err != nil {
			return err
		}
		size, err := strconv.ParseInt(string(bytes.TrimRight(line, "\r\n")), 16, 32)
		if err != nil {
			return errMalformed
		}
		if size == 0 {
			_, err := c.in.ReadSlice('\n') // the empty trailer
			return err
		}
		n := len(c.body)
		c.body = slices.Grow(c.body, int(size))[:n+int(size)]
		if _, err := io.ReadFull(c.in, c.body[n:]); err != nil {
			return err
		}
		if _, err := c.in.Discard(2); err != nil {
			return err
		}
	}
}
