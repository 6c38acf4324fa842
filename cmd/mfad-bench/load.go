package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"sync"
	"sync/atomic"
	"time"
)

// loadResult is one load run against one server.
type loadResult struct {
	sequences int
	elapsed   time.Duration
	latencies []time.Duration // one per sequence, sorted
	failures  int
}

func (r loadResult) rate() float64 { return float64(r.sequences) / r.elapsed.Seconds() }

func (r loadResult) percentile(p float64) time.Duration {
	if len(r.latencies) == 0 {
		return 0
	}
	i := int(p * float64(len(r.latencies)-1))
	return r.latencies[i]
}

// runLoad performs total SDK-style sequences against base with concurrency
// workers: PUT a token, GET the role list, GET the credentials. fresh puts
// each sequence on a new TCP connection, as a new CLI process does;
// otherwise each worker keeps one connection, as a long-running SDK does.
func runLoad(base, role string, concurrency, total int, fresh bool) loadResult {
	var next atomic.Int64
	var failures atomic.Int64
	latencies := make([][]time.Duration, concurrency)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range concurrency {
		wg.Add(1)
		go func() {
			defer wg.Done()
			transport := &http.Transport{MaxIdleConnsPerHost: 1}
			client := &http.Client{Transport: transport, Timeout: 10 * time.Second}
			for next.Add(1) <= int64(total) {
				t0 := time.Now()
				if err := sequence(client, base, role); err != nil {
					failures.Add(1)
				}
				latencies[w] = append(latencies[w], time.Since(t0))
				if fresh {
					transport.CloseIdleConnections()
				}
			}
			transport.CloseIdleConnections()
		}()
	}
	wg.Wait()
	r := loadResult{sequences: total, elapsed: time.Since(start), failures: int(failures.Load())}
	for _, l := range latencies {
		r.latencies = append(r.latencies, l...)
	}
	slices.Sort(r.latencies)
	return r
}

// sequence is what an SDK does to load credentials from IMDSv2.
func sequence(client *http.Client, base, role string) error {
	ctx := context.Background()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPut, base+"/latest/api/token", nil)
	req.Header.Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", "21600")
	token, err := do(client, req)
	if err != nil {
		return err
	}
	for _, path := range []string{"/latest/meta-data/iam/security-credentials/", "/latest/meta-data/iam/security-credentials/" + role} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
		req.Header.Set("X-Aws-Ec2-Metadata-Token", token)
		if _, err := do(client, req); err != nil {
			return err
		}
	}
	return nil
}

func do(client *http.Client, req *http.Request) (string, error) {
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s %s: %d", req.Method, req.URL.Path, resp.StatusCode)
	}
	return string(body), nil
}

// ceiling is the fastest server the same load can meet: plain net/http
// answering the three requests with fixed bodies.
func ceiling(credentialBody string) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("PUT /latest/api/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Aws-Ec2-Metadata-Token-Ttl-Seconds", r.Header.Get("X-Aws-Ec2-Metadata-Token-Ttl-Seconds"))
		io.WriteString(w, "AQAEAKxfLX7KvDxDsT2YtLswCwI4Wkl4ldaf9TiErJs0OPzJRBaabvAQ==")
	})
	mux.HandleFunc("GET /latest/meta-data/iam/security-credentials/", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "default")
	})
	mux.HandleFunc("GET /latest/meta-data/iam/security-credentials/default", func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, credentialBody)
	})
	return mux
}
