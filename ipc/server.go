package ipc

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"time"
)

// Backend carries out the requests the server receives. The daemon
// implements it; tests use a fake.
type Backend interface {
	Status(ctx context.Context) (Status, error)
	Unlock(ctx context.Context, req UnlockRequest) (UnlockResponse, error)
	Lock(ctx context.Context, req LockRequest) (LockResponse, error)
	OpenKeyring(ctx context.Context, req KeyringRequest) (KeyringResponse, error)
	ListKeys(ctx context.Context) (KeysList, error)
	GetKeys(ctx context.Context, req KeysRequest) (KeysResponse, error)
	PutKeys(ctx context.Context, req KeysRequest) (KeysResponse, error)
	RemoveKeys(ctx context.Context, req KeysRequest) (KeysResponse, error)
}

// maxBodyBytes bounds a request body; real ones are a few dozen bytes.
const maxBodyBytes = 64 << 10

type connKey struct{}

// NewServer returns an HTTP server for the control API, to be run on a
// Listener. It answers only processes of the user running it.
func NewServer(b Backend, logger *slog.Logger) *http.Server {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &http.Server{
		Handler:           NewHandler(b, logger),
		ReadHeaderTimeout: 5 * time.Second,
		IdleTimeout:       time.Minute,
		MaxHeaderBytes:    16 << 10,
		ConnContext: func(ctx context.Context, c net.Conn) context.Context {
			return context.WithValue(ctx, connKey{}, c)
		},
		ErrorLog: slog.NewLogLogger(logger.Handler(), slog.LevelDebug),
	}
}

// NewHandler returns the control API's routes behind its access checks.
func NewHandler(b Backend, logger *slog.Logger) http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+PathStatus, func(w http.ResponseWriter, r *http.Request) {
		st, err := b.Status(r.Context())
		reply(w, st, err)
	})
	mux.HandleFunc("POST "+PathUnlock, func(w http.ResponseWriter, r *http.Request) {
		var req UnlockRequest
		if !decode(w, r, &req) {
			return
		}
		resp, err := b.Unlock(r.Context(), req)
		reply(w, resp, err)
	})
	mux.HandleFunc("POST "+PathKeyring, func(w http.ResponseWriter, r *http.Request) {
		var req KeyringRequest
		if !decode(w, r, &req) {
			return
		}
		resp, err := b.OpenKeyring(r.Context(), req)
		reply(w, resp, err)
	})
	mux.HandleFunc("GET "+PathKeys, func(w http.ResponseWriter, r *http.Request) {
		resp, err := b.ListKeys(r.Context())
		reply(w, resp, err)
	})
	for path, op := range map[string]func(context.Context, KeysRequest) (KeysResponse, error){
		PathKeysGet: b.GetKeys, PathKeysPut: b.PutKeys, PathKeysRemove: b.RemoveKeys,
	} {
		mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
			var req KeysRequest
			if !decode(w, r, &req) {
				return
			}
			resp, err := op(r.Context(), req)
			reply(w, resp, err)
		})
	}
	mux.HandleFunc("POST "+PathLock, func(w http.ResponseWriter, r *http.Request) {
		var req LockRequest
		if !decode(w, r, &req) {
			return
		}
		resp, err := b.Lock(r.Context(), req)
		reply(w, resp, err)
	})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if reason := refusal(r); reason != "" {
			logger.Warn("ipc: refused request", "reason", reason)
			writeError(w, &Error{Status: http.StatusForbidden, Kind: KindBadRequest, Message: "forbidden: " + reason})
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// refusal says why r may not be served, or "" when it may.
func refusal(r *http.Request) string {
	c, _ := r.Context().Value(connKey{}).(net.Conn)
	if c == nil {
		return "no connection to check"
	}
	self, err := peerIsSelf(c, true)
	if err != nil {
		return "cannot identify the peer: " + err.Error()
	}
	if !self {
		return "peer belongs to another user"
	}
	if r.Host != Host {
		return "unexpected host"
	}
	if r.Header.Get("Origin") != "" || r.Header.Get("Referer") != "" {
		return "request comes from a web browser"
	}
	return ""
}

func decode(w http.ResponseWriter, r *http.Request, v any) bool {
	body := http.MaxBytesReader(w, r.Body, maxBodyBytes)
	if err := json.NewDecoder(body).Decode(v); err != nil {
		writeError(w, &Error{Status: http.StatusBadRequest, Kind: KindBadRequest, Message: "malformed request: " + err.Error()})
		return false
	}
	return true
}

func reply(w http.ResponseWriter, v any, err error) {
	if err != nil {
		var e *Error
		if !errors.As(err, &e) {
			e = &Error{Status: http.StatusInternalServerError, Kind: KindInternal, Message: err.Error()}
		}
		writeError(w, e)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func writeError(w http.ResponseWriter, e *Error) {
	status := e.Status
	if status == 0 {
		status = http.StatusBadRequest
	}
	writeJSON(w, status, e)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
