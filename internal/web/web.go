// Package web is hooklens' HTTP plumbing shared by every endpoint: JSON
// answers and the one error shape, request ids, client addresses, access
// logs, panic recovery, security headers and CORS. It knows nothing of Dwolla,
// GraphQL or the database.
package web

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"
)

// ErrorBody is the JSON shape of every REST error.
type ErrorBody struct {
	Error     ErrorDetail `json:"error"`
	RequestID string      `json:"requestId,omitempty"`
}

// ErrorDetail names an error with a stable code and a human message.
type ErrorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// JSON writes v with status. v is encoded before the status is sent, so a
// value JSON cannot carry (an infinite float) is a 500 with the error
// shape, never a 200 with an empty body.
func JSON(w http.ResponseWriter, status int, v any) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		slog.Error("encoding a JSON response", "err", err)
		buf.Reset()
		status = http.StatusInternalServerError
		_ = enc.Encode(ErrorBody{Error: ErrorDetail{Code: "internal", Message: "internal error: the response could not be encoded"}})
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// Error writes the error shape with status.
func Error(w http.ResponseWriter, r *http.Request, status int, code, message string) {
	JSON(w, status, ErrorBody{Error: ErrorDetail{Code: code, Message: message}, RequestID: RequestID(r.Context())})
}

// requestKey is the context key of a request's requestInfo.
type requestKey struct{}

// requestInfo is what WithRequestID puts in a request's context: one value,
// so that one context and one allocation carry both.
type requestInfo struct {
	id         string
	clientAddr string
}

// outside is the requestInfo of a context outside any request.
var outside requestInfo

func info(ctx context.Context) *requestInfo {
	if ri, ok := ctx.Value(requestKey{}).(*requestInfo); ok {
		return ri
	}
	return &outside
}

// RequestID returns the request's id ("" outside a request).
func RequestID(ctx context.Context) string { return info(ctx).id }

// NewID returns a random 16-byte hex id.
func NewID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	var out [32]byte
	hex.Encode(out[:], b[:])
	return string(out[:])
}

// acceptableRequestID keeps a caller's X-Request-ID only when it is short
// and plain, so it can be logged and echoed safely.
func acceptableRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// ClientAddr returns the client address recorded for the request in ctx
// ("" outside a request).
func ClientAddr(ctx context.Context) string { return info(ctx).clientAddr }

// requestIDHeader is X-Request-ID in Go's canonical form, which header
// lookups take without allocating a canonical copy of the name.
const requestIDHeader = "X-Request-Id"

// WithRequestID gives each request an id (the caller's X-Request-ID when
// sane), echoes it in the response, and puts it and the client address in
// the context.
func WithRequestID(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(requestIDHeader)
		if !acceptableRequestID(id) {
			id = NewID()
		}
		w.Header().Set(requestIDHeader, id)
		// The proxy-aware resolver runs first, so ClientIP is the real client.
		ctx := context.WithValue(r.Context(), requestKey{}, &requestInfo{id: id, clientAddr: ClientIP(r)})
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// ClientIP returns the request's peer address without the port. Proxy
// headers are honoured only by the proxy-aware resolver configured at the
// edge, which rewrites RemoteAddr; here we trust RemoteAddr alone.
func ClientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// StatusRecorder captures the status and size a handler wrote.
type StatusRecorder struct {
	http.ResponseWriter
	Status int
	Bytes  int
}

// Record returns a StatusRecorder for w: w itself when it is one that has
// recorded nothing yet (a middleware further out is recording the same
// answer), so stacked middlewares share one instead of each allocating
// its own.
func Record(w http.ResponseWriter) *StatusRecorder {
	if rec, ok := w.(*StatusRecorder); ok && rec.Status == 0 && rec.Bytes == 0 {
		return rec
	}
	return &StatusRecorder{ResponseWriter: w}
}

// WriteHeader records the status.
func (s *StatusRecorder) WriteHeader(code int) {
	if s.Status == 0 {
		s.Status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Write records the size.
func (s *StatusRecorder) Write(b []byte) (int, error) {
	if s.Status == 0 {
		s.Status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(b)
	s.Bytes += n
	return n, err
}

// Unwrap lets http.ResponseController reach the underlying writer (for
// websocket hijacking and flushing).
func (s *StatusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush passes flushes through for streamed responses.
func (s *StatusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// AccessLog logs one line per request at debug level, or warn for 5xx.
// Query strings are left out: they may carry filters with customer ids.
func AccessLog(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			rec := Record(w)
			next.ServeHTTP(rec, r)
			level := slog.LevelDebug
			if rec.Status >= 500 {
				level = slog.LevelWarn
			}
			// Checked first: building the attributes of a line that is
			// not written costs several allocations on every request.
			if !log.Enabled(r.Context(), level) {
				return
			}
			log.Log(r.Context(), level, "http request",
				"method", r.Method, "path", r.URL.Path, "status", rec.Status, "bytes", rec.Bytes,
				"duration_ms", float64(time.Since(start).Microseconds())/1000, "remote", ClientIP(r),
				"request_id", RequestID(r.Context()))
		})
	}
}

// Recover turns a handler panic into a 500 and logs the stack.
func Recover(log *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			defer func() {
				if v := recover(); v != nil {
					if v == http.ErrAbortHandler {
						panic(v)
					}
					log.Error("handler panic", "panic", v, "path", r.URL.Path, "stack", string(debug.Stack()),
						"request_id", RequestID(r.Context()))
					Error(w, r, http.StatusInternalServerError, "internal", "internal error")
				}
			}()
			next.ServeHTTP(w, r)
		})
	}
}

// SecurityHeaders returns middleware setting the headers every response
// carries. The CSP allows only same-origin scripts and styles (plus inline
// styles the charts use), websockets only to this server's own origin, and
// forbids framing. When publicURL is https, browsers are told to use HTTPS
// only (HSTS); over plain http the header would be ignored, and sending it
// from a development server would pin a name to HTTPS for a year.
func SecurityHeaders(publicURL string) func(http.Handler) http.Handler {
	https := strings.HasPrefix(strings.ToLower(publicURL), "https://")
	publicHost := ""
	if u, err := url.Parse(publicURL); err == nil && u.Host != "" {
		publicHost = u.Host
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("Referrer-Policy", "no-referrer")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			if https {
				h.Set("Strict-Transport-Security", "max-age=31536000")
			}
			if h.Get("Content-Security-Policy") == "" {
				h.Set("Content-Security-Policy", "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "+
					"img-src 'self' data:; connect-src "+connectSources(https, publicHost, r.Host)+"; font-src 'self' data:; object-src 'none'; "+
					"base-uri 'none'; frame-ancestors 'none'; form-action 'self'")
			}
			next.ServeHTTP(w, r)
		})
	}
}

// connectSources is the CSP connect-src: our own origin and our own
// websocket origin, nothing else. 'self' covers ws(s) to the same host only
// in CSP level 3 browsers, so the websocket origin is named too: the public
// URL's host when configured (wss only behind https), else the host the
// browser asked for, with both schemes since a TLS-terminating proxy may sit
// in front.
func connectSources(https bool, publicHost, requestHost string) string {
	host := publicHost
	if host == "" {
		host = requestHost
	}
	if !plainHost(host) {
		return "'self'"
	}
	if https {
		return "'self' wss://" + host
	}
	return "'self' ws://" + host + " wss://" + host
}

// plainHost reports whether host is safe to echo in a header: a name or
// address with an optional port, nothing a CSP would read as syntax.
func plainHost(host string) bool {
	if host == "" || len(host) > 255 {
		return false
	}
	for _, c := range host {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune(".-:[]", c)) {
			return false
		}
	}
	return true
}

// CloseAmbiguousFraming closes the connection after any HTTP/1 request
// whose body was framed with Transfer-Encoding. RFC 9112 §6.3 requires a
// server that receives both Transfer-Encoding and Content-Length to close
// the connection after responding: the two framings disagree about where
// the next request starts, which is how requests are smuggled past proxies.
// Go's server drops the Content-Length before a handler can see it, so
// every transfer-coded request is treated this way; such clients lose
// keep-alive and nothing else (Dwolla and browsers send Content-Length).
func CloseAmbiguousFraming(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ProtoMajor == 1 && len(r.TransferEncoding) > 0 {
			w.Header().Set("Connection", "close")
			r.Close = true
		}
		next.ServeHTTP(w, r)
	})
}

// Chain applies middlewares so the first listed runs first.
func Chain(h http.Handler, mws ...func(http.Handler) http.Handler) http.Handler {
	for i := len(mws) - 1; i >= 0; i-- {
		h = mws[i](h)
	}
	return h
}

// IsWebsocket reports whether r asks for a websocket upgrade.
func IsWebsocket(r *http.Request) bool {
	return strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
}
