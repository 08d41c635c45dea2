package netguard

import (
	"net"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// ConnLimits bound the connections a server holds open. Every connection
// costs a file descriptor; past the process's file limit accept fails for
// everyone, Dwolla included, so the caps sit below it.
type ConnLimits struct {
	// Max bounds all connections together (DefaultMaxConns when zero).
	Max int
	// PerSource bounds one client address's connections (IPv6 by /64).
	// Peers in Exempt (trusted reverse proxies, which carry many clients'
	// connections) are bounded by Max only.
	PerSource int
	Exempt    PrefixSet
	// Registerer, when set, gets hooklens_connections_open and
	// hooklens_connections_refused_total{scope}.
	Registerer prometheus.Registerer
}

// DefaultPerSource is the default per-source connection cap: far above a
// browser's 6 connections a host and Dwolla's 10 concurrent deliveries.
const DefaultPerSource = 256

// DefaultMaxConns is three quarters of the process's file limit, leaving
// the rest for the database, the log and files.
func DefaultMaxConns() int {
	var rl syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &rl); err != nil || rl.Cur == 0 || rl.Cur > 1<<24 {
		return 10000
	}
	return max(16, int(rl.Cur)*3/4)
}

// LimitListener wraps ln so that a connection over either cap is answered
// with a 503 and closed at once, before it costs a request goroutine.
func LimitListener(ln net.Listener, lim ConnLimits) net.Listener {
	if lim.Max <= 0 {
		lim.Max = DefaultMaxConns()
	}
	l := &limitListener{Listener: ln, lim: lim, bySource: map[string]int{}}
	l.open = prometheus.NewGauge(prometheus.GaugeOpts{Name: "hooklens_connections_open", Help: "Client connections open."})
	l.refused = prometheus.NewCounterVec(prometheus.CounterOpts{Name: "hooklens_connections_refused_total",
		Help: "Client connections refused at accept, by the cap that refused them (global or source)."}, []string{"scope"})
	if lim.Registerer != nil {
		// A second listener on one registry (a restarted Serve) reports
		// through the first's metrics only.
		_ = lim.Registerer.Register(l.open)
		_ = lim.Registerer.Register(l.refused)
	}
	return l
}

type limitListener struct {
	net.Listener
	lim     ConnLimits
	open    prometheus.Gauge
	refused *prometheus.CounterVec

	mu       sync.Mutex
	total    int
	bySource map[string]int
}

// overloaded is what a refused connection reads: an HTTP answer rather
// than a bare reset, so a client knows to come back.
const overloaded = "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n" +
	"Content-Type: text/plain; charset=utf-8\r\nContent-Length: 33\r\n\r\ntoo many connections; retry later"

func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		addr := PeerAddr(c.RemoteAddr().String())
		key := ""
		if l.lim.PerSource > 0 && addr.IsValid() && !l.lim.Exempt.Contains(addr) {
			key = sourceKey(addr)
		}
		if scope := l.admit(key); scope != "" {
			l.refused.WithLabelValues(scope).Inc()
			go refuse(c)
			continue
		}
		l.open.Inc()
		return &limitedConn{Conn: c, release: func() { l.release(key) }}, nil
	}
}

// admit takes a slot for a connection from key ("" for no per-source cap),
// or names the cap that refuses it.
func (l *limitListener) admit(key string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.total >= l.lim.Max {
		return "global"
	}
	if key != "" && l.bySource[key] >= l.lim.PerSource {
		return "source"
	}
	l.total++
	if key != "" {
		l.bySource[key]++
	}
	return ""
}

func (l *limitListener) release(key string) {
	l.mu.Lock()
	l.total--
	if key != "" {
		if l.bySource[key]--; l.bySource[key] <= 0 {
			delete(l.bySource, key)
		}
	}
	l.mu.Unlock()
	l.open.Dec()
}

func refuse(c net.Conn) {
	_ = c.SetWriteDeadline(time.Now().Add(time.Second))
	_, _ = c.Write([]byte(overloaded))
	_ = c.Close()
}

// limitedConn gives its slot back once, on the first Close.
type limitedConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite half-closes the connection when the underlying one can. Go's
// server answers an error (431, a body over its limit) and then half-closes
// and drains before closing, so the client reads the answer instead of a
// reset; hiding CloseWrite would turn those answers into resets.
func (c *limitedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
