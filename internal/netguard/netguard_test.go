package netguard

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParsePrefixes(t *testing.T) {
	t.Parallel()
	got, err := ParsePrefixes(" 10.0.0.0/8, 192.0.2.7 ,2001:db8::1/32,::ffff:198.51.100.0/120,, fe80::1%eth0")
	require.NoError(t, err)
	require.Equal(t, []string{"10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32", "198.51.100.0/24", "fe80::1/128"}, func() []string {
		var s []string
		for _, p := range got {
			s = append(s, p.String())
		}
		return s
	}())
	none, err := ParsePrefixes("  ")
	require.NoError(t, err)
	require.Empty(t, none)
	for _, bad := range []string{"10.0.0.0/33", "example.com", "10.0.0.1,nope", "1.2.3.4/x"} {
		_, err := ParsePrefixes(bad)
		require.Error(t, err, bad)
		require.Contains(t, err.Error(), "entry")
	}
}

func TestResolver(t *testing.T) {
	t.Parallel()
	trusted, err := ParsePrefixes("10.0.0.0/8, 127.0.0.1")
	require.NoError(t, err)
	rs := NewResolver(trusted)
	for _, tc := range []struct {
		name   string
		remote string
		xff    []string
		want   string
	}{
		{"untrusted peer ignores headers", "203.0.113.9:555", []string{"1.1.1.1"}, "203.0.113.9"},
		{"trusted peer, one hop", "127.0.0.1:80", []string{"198.51.100.4"}, "198.51.100.4"},
		{"client-written entries left of the first untrusted hop are ignored", "127.0.0.1:80", []string{"6.6.6.6, 198.51.100.4, 10.1.2.3"}, "198.51.100.4"},
		{"several headers are one list", "10.0.0.2:1", []string{"6.6.6.6", "198.51.100.4", "10.9.9.9"}, "198.51.100.4"},
		{"ports and brackets", "127.0.0.1:80", []string{"[2001:db8::5]:443"}, "2001:db8::5"},
		{"ipv4 with port", "127.0.0.1:80", []string{"198.51.100.4:1234"}, "198.51.100.4"},
		{"mapped addresses unmap", "[::ffff:127.0.0.1]:80", []string{"::ffff:198.51.100.4"}, "198.51.100.4"},
		{"all trusted: the leftmost", "127.0.0.1:80", []string{"10.0.0.7, 10.0.0.8"}, "10.0.0.7"},
		{"garbage stops the walk at the last vouched hop", "127.0.0.1:80", []string{"198.51.100.4, garbage, 10.0.0.8"}, "10.0.0.8"},
		{"no header", "127.0.0.1:80", nil, "127.0.0.1"},
		{"empty entries", "127.0.0.1:80", []string{" , "}, "127.0.0.1"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodGet, "/", nil)
			r.RemoteAddr = tc.remote
			for _, h := range tc.xff {
				r.Header.Add("X-Forwarded-For", h)
			}
			require.Equal(t, tc.want, rs.ClientAddr(r).String())
		})
	}

	// Without trusted proxies nothing is read from headers, and the
	// middleware is a no-op.
	plain := NewResolver(nil)
	r := httptest.NewRequest(http.MethodGet, "/", nil)
	r.RemoteAddr = "127.0.0.1:9"
	r.Header.Set("X-Forwarded-For", "1.2.3.4")
	require.Equal(t, "127.0.0.1", plain.ClientAddr(r).String())

	var seen string
	h := rs.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = r.RemoteAddr }))
	h.ServeHTTP(httptest.NewRecorder(), r)
	require.Equal(t, "1.2.3.4:0", seen)
	require.Equal(t, "127.0.0.1:9", r.RemoteAddr, "the caller's request is not changed")
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestKeyedBuckets(t *testing.T) {
	t.Parallel()
	c := &clock{t: time.Unix(1000, 0)}
	k := NewKeyed(Rate{PerSecond: 2, Burst: 3}, 2)
	k.now = c.now
	for i := 0; i < 3; i++ {
		ok, _ := k.Allow("a")
		require.True(t, ok)
	}
	ok, wait := k.Allow("a")
	require.False(t, ok)
	require.Equal(t, 500*time.Millisecond, wait)
	c.add(500 * time.Millisecond)
	ok, _ = k.Allow("a")
	require.True(t, ok)

	// Check never spends; Spend never goes below zero.
	ok, _ = k.Check("b")
	require.True(t, ok)
	require.Equal(t, 1, k.Len(), "checking an unknown key stores nothing")
	for i := 0; i < 10; i++ {
		k.Spend("b")
	}
	ok, wait = k.Check("b")
	require.False(t, ok)
	require.Equal(t, 500*time.Millisecond, wait)

	// The LRU keeps at most two keys: a third evicts the least recent (a).
	k.Spend("c")
	require.Equal(t, 2, k.Len())
	ok, _ = k.Check("b")
	require.False(t, ok, "b is still tracked")
	ok, _ = k.Check("a")
	require.True(t, ok, "a was evicted: a fresh bucket")
}

func TestKeyedBoundedUnderFlood(t *testing.T) {
	t.Parallel()
	k := NewKeyed(Rate{PerSecond: 1, Burst: 1}, 100)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func(g int) {
			defer wg.Done()
			for i := 0; i < 2000; i++ {
				k.Spend(fmt.Sprintf("10.%d.%d.%d", g, i/256, i%256))
			}
		}(g)
	}
	wg.Wait()
	require.Equal(t, 100, k.Len())
}

func TestGuard(t *testing.T) {
	t.Parallel()
	allow, err := ParsePrefixes("192.0.2.0/24, 2001:db8::/32")
	require.NoError(t, err)
	g := NewGuard(GuardOptions{Allow: allow, Rejections: Rate{PerSecond: 0.001, Burst: 2}, Global: Rate{PerSecond: 0.001, Burst: 100}})
	a := netip.MustParseAddr("192.0.2.10")
	require.Equal(t, Forbidden, g.Admit(netip.MustParseAddr("198.51.100.1")).Outcome)
	require.Equal(t, Admitted, g.Admit(a).Outcome)
	g.Rejected(a)
	require.Equal(t, Admitted, g.Admit(a).Outcome)
	g.Rejected(a)
	v := g.Admit(a)
	require.Equal(t, RateLimited, v.Outcome)
	require.Equal(t, "source", v.Scope)
	require.Greater(t, v.RetryAfter, time.Second)
	require.Equal(t, Admitted, g.Admit(netip.MustParseAddr("192.0.2.11")).Outcome, "other sources are not affected")

	// IPv6 sources are limited per /64.
	g.Rejected(netip.MustParseAddr("2001:db8::1"))
	g.Rejected(netip.MustParseAddr("2001:db8::2"))
	require.Equal(t, RateLimited, g.Admit(netip.MustParseAddr("2001:db8::ffff")).Outcome)
	require.Equal(t, Admitted, g.Admit(netip.MustParseAddr("2001:db8:0:1::1")).Outcome)

	// The global cap: a burst of 10 concurrent (Dwolla's) always passes the
	// default, and admitted deliveries that verify cost the source nothing.
	d := NewGuard(GuardOptions{Rejections: DefaultRejections, Global: DefaultGlobal})
	dwolla := netip.MustParseAddr("52.1.2.3")
	var wg sync.WaitGroup
	refused := make(chan Verdict, 1000)
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 100; j++ {
				if v := d.Admit(dwolla); v.Outcome != Admitted {
					refused <- v
				}
				if v := d.Verified(); v.Outcome != Admitted {
					refused <- v
				}
			}
		}()
	}
	wg.Wait()
	close(refused)
	require.Empty(t, refused)

	// A tiny global cap refuses with a global scope. Only verified
	// deliveries spend it: admitting (and rejecting) forged ones does not.
	tiny := NewGuard(GuardOptions{Global: Rate{PerSecond: 0.001, Burst: 1}})
	for range 100 {
		require.Equal(t, Admitted, tiny.Admit(a).Outcome)
		tiny.Rejected(a)
	}
	require.Equal(t, Admitted, tiny.Verified().Outcome)
	v = tiny.Verified()
	require.Equal(t, RateLimited, v.Outcome)
	require.Equal(t, "global", v.Scope)
	v = tiny.Admit(a)
	require.Equal(t, RateLimited, v.Outcome, "while the cap is spent, everyone waits before the body is read")
	require.Equal(t, "global", v.Scope)

	var none *Guard
	require.Equal(t, Admitted, none.Admit(a).Outcome)
	none.Rejected(a)
}

func TestAttempts(t *testing.T) {
	t.Parallel()
	at := NewAttempts(Rate{PerSecond: 0.01, Burst: 3}, 0)
	for i := 0; i < 3; i++ {
		ok, _ := at.Allow("198.51.100.1")
		require.True(t, ok)
		at.Failed("198.51.100.1")
	}
	ok, wait := at.Allow("198.51.100.1")
	require.False(t, ok)
	require.Greater(t, wait, time.Minute)
	ok, _ = at.Allow("198.51.100.2")
	require.True(t, ok)
	require.Equal(t, "100", RetryAfterSeconds(99500*time.Millisecond))
	require.Equal(t, "1", RetryAfterSeconds(0))
}

func TestParseRate(t *testing.T) {
	t.Parallel()
	for in, want := range map[string]Rate{
		"off": {}, "0": {}, "": {},
		"5/s:50":       {PerSecond: 5, Burst: 50},
		"10/m:10":      {PerSecond: 10.0 / 60, Burst: 10},
		"5000/s:10000": {PerSecond: 5000, Burst: 10000},
		"7/s":          {PerSecond: 7, Burst: 7},
		"3600/h":       {PerSecond: 1, Burst: 3600},
	} {
		got, err := ParseRate(in)
		require.NoError(t, err, in)
		require.InDelta(t, want.PerSecond, got.PerSecond, 1e-9, in)
		require.Equal(t, want.Burst, got.Burst, in)
		if !got.Off() {
			again, err := ParseRate(got.String())
			require.NoError(t, err)
			require.InDelta(t, got.PerSecond, again.PerSecond, 1e-9)
		}
	}
	for _, bad := range []string{"5", "5/d", "-1/s", "x/s", "5/s:0", "5/s:x", "NaN/s"} {
		_, err := ParseRate(bad)
		require.Error(t, err, bad)
	}
	require.Equal(t, "5/s:50", DefaultRejections.String())
	require.Equal(t, "10/m:10", DefaultSignIns.String())
}
