package graph

import (
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	coderws "github.com/coder/websocket"

	"github.com/hooklens/hooklens/internal/web"
)

// Websocket close codes hooklens uses beyond gqlgen's own.
const (
	// CloseGoingAway (1001) tells subscribers the server is shutting down:
	// reconnect (to another instance, or to this one when it is back).
	CloseGoingAway = 1001
	// CloseInitTimeout (4408) is graphql-transport-ws's "Connection
	// initialisation timeout": no connection_init in time.
	CloseInitTimeout = 4408
)

// Sockets accepts GraphQL websockets through coder/websocket and keeps
// track of the open ones, so that shutdown can say goodbye (1001) instead
// of letting clients see the connection drop (1006), and so that a
// connection that never sends connection_init is closed with 4408 as
// graphql-transport-ws requires (gqlgen's own timeout closes with 1002).
type Sockets struct {
	origins     []string
	initTimeout time.Duration
	log         *slog.Logger

	mu      sync.Mutex
	open    map[*trackedConn]struct{}
	closing bool
	// goingAway is closed by GoingAway; event streams end on it.
	goingAway chan struct{}
}

// NewSockets returns an empty set. allowedOrigins are extra origins
// (scheme://host[:port]) allowed besides the server's own.
func NewSockets(allowedOrigins []string, initTimeout time.Duration, log *slog.Logger) *Sockets {
	var hosts []string
	for _, o := range allowedOrigins {
		if u, err := url.Parse(o); err == nil && u.Host != "" {
			hosts = append(hosts, strings.ToLower(u.Host))
		}
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Sockets{origins: hosts, initTimeout: initTimeout, log: log, open: map[*trackedConn]struct{}{}}
}

// originAllowed applies the same rule as coder/websocket's Accept: no
// Origin (not a browser), the request's own host, or a listed host. It runs
// before the upgrade so that a refusal is one structured log line and one
// answer, not gqlgen's unstructured log.Printf and a second WriteHeader.
func (s *Sockets) originAllowed(r *http.Request) bool {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	host := strings.ToLower(u.Host)
	if strings.EqualFold(host, r.Host) {
		return true
	}
	for _, p := range s.origins {
		if ok, _ := path.Match(p, host); ok {
			return true
		}
	}
	return false
}

// refuse answers a websocket request from a foreign origin.
func (s *Sockets) refuse(w http.ResponseWriter, r *http.Request) {
	s.log.Info("websocket refused: origin not allowed", "origin", r.Header.Get("Origin"), "host", r.Host,
		"remote", web.ClientIP(r), "request_id", web.RequestID(r.Context()))
	web.Error(w, r, http.StatusForbidden, "forbidden_origin",
		"this origin may not open GraphQL websockets; add it to HOOKLENS_ALLOWED_ORIGINS")
}

// implementation returns the gqlgen websocket implementation backed by s.
func (s *Sockets) implementation() transport.WebsocketImplementation {
	return socketImplementation{s: s, inner: transport.CoderWebsocketImplementation{
		AcceptOptions: coderws.AcceptOptions{OriginPatterns: s.origins},
	}}
}

// GoingAway closes every open websocket with 1001, ends every event
// stream, and refuses new websockets.
// The HTTP server calls it when it shuts down (RegisterOnShutdown):
// hijacked connections are not the server's to close.
func (s *Sockets) GoingAway() {
	s.mu.Lock()
	if !s.closing {
		if s.goingAway == nil {
			s.goingAway = make(chan struct{})
		}
		close(s.goingAway)
	}
	s.closing = true
	conns := make([]*trackedConn, 0, len(s.open))
	for c := range s.open {
		conns = append(conns, c)
	}
	s.mu.Unlock()
	for _, c := range conns {
		c.closeWith(CloseGoingAway, "server shutting down")
	}
}

// Open reports how many websockets are open.
func (s *Sockets) Open() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.open)
}

type socketImplementation struct {
	s     *Sockets
	inner transport.CoderWebsocketImplementation
}

func (i socketImplementation) Accept(w http.ResponseWriter, r *http.Request, opts transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	conn, err := i.inner.Accept(w, r, opts)
	if err != nil {
		return nil, err
	}
	c := &trackedConn{WebsocketConn: conn, set: i.s}
	i.s.mu.Lock()
	closing := i.s.closing
	i.s.open[c] = struct{}{}
	i.s.mu.Unlock()
	if closing {
		c.closeWith(CloseGoingAway, "server shutting down")
		return c, nil
	}
	if i.s.initTimeout > 0 {
		c.mu.Lock()
		c.initTimer = time.AfterFunc(i.s.initTimeout, func() {
			c.closeWith(CloseInitTimeout, "Connection initialisation timeout")
		})
		c.mu.Unlock()
	}
	return c, nil
}

// trackedConn is one open websocket.
type trackedConn struct {
	transport.WebsocketConn
	set *Sockets

	mu        sync.Mutex
	initTimer *time.Timer
	closed    bool
}

var (
	_ transport.WebsocketReadLimiter   = (*trackedConn)(nil)
	_ transport.WebsocketReadDeadliner = (*trackedConn)(nil)
)

// NextReader stops the init timer at the first message (connection_init;
// anything else gqlgen closes as a protocol error itself).
func (c *trackedConn) NextReader() (int, io.Reader, error) {
	typ, r, err := c.WebsocketConn.NextReader()
	if err == nil {
		c.mu.Lock()
		if c.initTimer != nil {
			c.initTimer.Stop()
			c.initTimer = nil
		}
		c.mu.Unlock()
	}
	return typ, r, err
}

// WriteClose sends the first close frame only: a code hooklens chose
// (4408, 1001) is not overwritten by gqlgen's own close that follows.
func (c *trackedConn) WriteClose(code int, reason string) error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	if c.initTimer != nil {
		c.initTimer.Stop()
		c.initTimer = nil
	}
	c.mu.Unlock()
	return c.WebsocketConn.WriteClose(code, reason)
}

func (c *trackedConn) closeWith(code int, reason string) {
	_ = c.WriteClose(code, reason)
}

// Close forgets the connection.
func (c *trackedConn) Close() error {
	c.set.mu.Lock()
	delete(c.set.open, c)
	c.set.mu.Unlock()
	return c.WebsocketConn.Close()
}

func (c *trackedConn) SetReadLimit(limit int64) {
	if l, ok := c.WebsocketConn.(transport.WebsocketReadLimiter); ok {
		l.SetReadLimit(limit)
	}
}

func (c *trackedConn) SetReadDeadline(t time.Time) error {
	if d, ok := c.WebsocketConn.(transport.WebsocketReadDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return nil
}
