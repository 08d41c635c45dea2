package netguard

import (
	"container/list"
	"errors"
	"math"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Rate is a token bucket's refill rate and size. The zero Rate is "no
// limit".
type Rate struct {
	// PerSecond is how many tokens come back each second.
	PerSecond float64
	// Burst is the bucket's size: how many may pass at once after a quiet
	// spell.
	Burst int
}

// Off reports whether r imposes no limit.
func (r Rate) Off() bool { return r.PerSecond <= 0 || r.Burst <= 0 }

// bucket is a token bucket; the caller holds the lock.
type bucket struct {
	tokens float64
	last   time.Time
}

func (b *bucket) refill(r Rate, now time.Time) {
	if b.last.IsZero() {
		b.tokens, b.last = float64(r.Burst), now
		return
	}
	if dt := now.Sub(b.last).Seconds(); dt > 0 {
		b.tokens = math.Min(float64(r.Burst), b.tokens+dt*r.PerSecond)
		b.last = now
	}
}

// wait is how long until one token is available.
func (b *bucket) wait(r Rate) time.Duration {
	if b.tokens >= 1 {
		return 0
	}
	return time.Duration((1 - b.tokens) / r.PerSecond * float64(time.Second))
}

// Keyed is a set of token buckets, one per key, holding at most a fixed
// number of keys: when full, the least recently seen key is forgotten (its
// next request starts with a full bucket). That bound is what keeps a
// flood from many addresses from growing memory without end.
type Keyed struct {
	rate Rate
	max  int
	now  func() time.Time

	mu    sync.Mutex
	order *list.List // front = most recently used; values are *entry
	byKey map[string]*list.Element
}

type entry struct {
	key string
	b   bucket
}

// DefaultMaxKeys bounds a Keyed limiter when no size is given.
const DefaultMaxKeys = 10000

// NewKeyed returns buckets of rate for at most maxKeys keys
// (DefaultMaxKeys when maxKeys ≤ 0).
func NewKeyed(rate Rate, maxKeys int) *Keyed {
	if maxKeys <= 0 {
		maxKeys = DefaultMaxKeys
	}
	return &Keyed{rate: rate, max: maxKeys, now: time.Now, order: list.New(), byKey: map[string]*list.Element{}}
}

// get returns key's bucket, refilled, creating it (and evicting the oldest
// key) as needed. The caller holds the lock.
func (k *Keyed) get(key string, now time.Time) *bucket {
	if el, ok := k.byKey[key]; ok {
		k.order.MoveToFront(el)
		e := el.Value.(*entry)
		e.b.refill(k.rate, now)
		return &e.b
	}
	if k.order.Len() >= k.max {
		oldest := k.order.Back()
		k.order.Remove(oldest)
		delete(k.byKey, oldest.Value.(*entry).key)
	}
	e := &entry{key: key}
	e.b.refill(k.rate, now)
	k.byKey[key] = k.order.PushFront(e)
	return &e.b
}

// Check reports whether key has a token left, without spending it, and if
// not, how long until it has.
func (k *Keyed) Check(key string) (ok bool, retryAfter time.Duration) {
	if k == nil || k.rate.Off() {
		return true, 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, seen := k.byKey[key]; !seen {
		return true, 0 // an unknown key has a full bucket; do not store it yet
	}
	b := k.get(key, k.now())
	w := b.wait(k.rate)
	return w == 0, w
}

// Allow spends a token of key if it has one.
func (k *Keyed) Allow(key string) (ok bool, retryAfter time.Duration) {
	if k == nil || k.rate.Off() {
		return true, 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	b := k.get(key, k.now())
	if w := b.wait(k.rate); w > 0 {
		return false, w
	}
	b.tokens--
	return true, 0
}

// Spend takes a token from key whether or not one is left (never below
// zero): the cost of something that already happened, such as a rejected
// delivery or a failed sign-in.
func (k *Keyed) Spend(key string) {
	if k == nil || k.rate.Off() {
		return
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	b := k.get(key, k.now())
	b.tokens = math.Max(0, b.tokens-1)
}

// Len is how many keys are tracked.
func (k *Keyed) Len() int {
	if k == nil {
		return 0
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	return k.order.Len()
}

// Single is one token bucket shared by everyone: a global cap.
type Single struct {
	rate Rate
	now  func() time.Time
	mu   sync.Mutex
	b    bucket
}

// NewSingle returns a global bucket of rate.
func NewSingle(rate Rate) *Single { return &Single{rate: rate, now: time.Now} }

// Allow spends a token if there is one.
func (s *Single) Allow() (ok bool, retryAfter time.Duration) {
	if s == nil || s.rate.Off() {
		return true, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.refill(s.rate, s.now())
	if w := s.b.wait(s.rate); w > 0 {
		return false, w
	}
	s.b.tokens--
	return true, 0
}

// Check reports whether a token is left, without spending it, and if not,
// how long until one is.
func (s *Single) Check() (ok bool, retryAfter time.Duration) {
	if s == nil || s.rate.Off() {
		return true, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.b.refill(s.rate, s.now())
	w := s.b.wait(s.rate)
	return w == 0, w
}

// RetryAfterSeconds renders a wait as a Retry-After value: whole seconds,
// rounded up, at least 1.
func RetryAfterSeconds(d time.Duration) string {
	s := int64(math.Ceil(d.Seconds()))
	if s < 1 {
		s = 1
	}
	return strconv.FormatInt(s, 10)
}

// Outcome of Guard.Admit.
const (
	Admitted    = ""
	Forbidden   = "forbidden"
	RateLimited = "rate_limited"
)

// Verdict is the Guard's answer for one delivery.
type Verdict struct {
	// Outcome is Admitted, Forbidden or RateLimited (the delivery outcomes
	// of the same names).
	Outcome string
	// Scope says which limit refused it: "source" or "global".
	Scope string
	// RetryAfter is when the refused source may try again.
	RetryAfter time.Duration
}

// GuardOptions configure a Guard.
type GuardOptions struct {
	// Allow lists the sources that may deliver; empty allows any. Dwolla
	// does not publish its addresses and changes them, so this is for
	// deployments that see Dwolla through a fixed egress (a proxy, a
	// gateway) only.
	Allow []netip.Prefix
	// Rejections limits, per source address, the deliveries that were
	// rejected (bad signature, malformed, too large, wrong type). A source
	// whose bucket is empty gets 429 for every delivery until it refills.
	// Deliveries that verify cost nothing, so Dwolla itself is never
	// limited per source, however it spreads its bursts over addresses.
	Rejections Rate
	// Global caps the deliveries that verify, all sources together, so a
	// signed flood (replayed captures) meets it before the database. It is
	// spent only once a signature verified (Guard.Verified): forged
	// deliveries, however many sources send them, never take budget from
	// genuine ones; they are bounded by Rejections per source. While it is
	// empty every delivery gets 429 before its body is read. Size it well
	// above Dwolla's peak (10 concurrent deliveries; at a 5 ms round trip
	// that is 2,000/s).
	Global Rate
	// MaxSources bounds the per-source state (DefaultMaxKeys by default).
	MaxSources int
}

// Defaults sized for Dwolla (see GuardOptions).
var (
	// DefaultRejections lets a source make 50 rejected deliveries at once
	// and 5 a second after that.
	DefaultRejections = Rate{PerSecond: 5, Burst: 50}
	// DefaultGlobal admits 5,000 deliveries a second with bursts of 10,000:
	// hundreds of times Dwolla's 10 concurrent deliveries, and about what
	// two cores can store durably.
	DefaultGlobal = Rate{PerSecond: 5000, Burst: 10000}
)

// Guard screens webhook deliveries by source before their bodies are read.
type Guard struct {
	allow      PrefixSet
	rejections *Keyed
	global     *Single
}

// NewGuard returns a Guard. A zero GuardOptions admits everything.
func NewGuard(opts GuardOptions) *Guard {
	return &Guard{
		allow:      PrefixSet(opts.Allow),
		rejections: NewKeyed(opts.Rejections, opts.MaxSources),
		global:     NewSingle(opts.Global),
	}
}

// Admit decides whether a delivery from addr may proceed. A nil Guard
// admits everything.
func (g *Guard) Admit(addr netip.Addr) Verdict {
	if g == nil {
		return Verdict{}
	}
	if len(g.allow) > 0 && !g.allow.Contains(addr) {
		return Verdict{Outcome: Forbidden, Scope: "allow-list"}
	}
	key := sourceKey(addr)
	if ok, wait := g.rejections.Check(key); !ok {
		return Verdict{Outcome: RateLimited, Scope: "source", RetryAfter: wait}
	}
	if ok, wait := g.global.Check(); !ok {
		return Verdict{Outcome: RateLimited, Scope: "global", RetryAfter: wait}
	}
	return Verdict{}
}

// Verified spends the global cap for a delivery whose signature verified,
// and refuses it when the cap is spent. A nil Guard admits everything.
func (g *Guard) Verified() Verdict {
	if g == nil {
		return Verdict{}
	}
	if ok, wait := g.global.Allow(); !ok {
		return Verdict{Outcome: RateLimited, Scope: "global", RetryAfter: wait}
	}
	return Verdict{}
}

// Rejected charges addr for a delivery that was rejected after it was
// admitted.
func (g *Guard) Rejected(addr netip.Addr) {
	if g == nil {
		return
	}
	g.rejections.Spend(sourceKey(addr))
}

// sourceKey groups IPv6 sources by /64, the block one host usually gets:
// limiting single IPv6 addresses would be no limit at all.
func sourceKey(a netip.Addr) string {
	a = a.Unmap()
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// Attempts limits failed attempts (sign-ins, bad tokens) per client
// address: each failure spends a token and an address without tokens is
// refused until it refills. Successes cost nothing.
type Attempts struct {
	k *Keyed
}

// DefaultSignIns allows 10 failed sign-ins at once per address, then one
// every 6 seconds (10 a minute).
var DefaultSignIns = Rate{PerSecond: 1.0 / 6, Burst: 10}

// NewAttempts returns a limiter of failures at rate.
func NewAttempts(rate Rate, maxKeys int) *Attempts {
	return &Attempts{k: NewKeyed(rate, maxKeys)}
}

// Allow reports whether the address in key may try, and if not, when.
func (a *Attempts) Allow(key string) (bool, time.Duration) {
	if a == nil {
		return true, 0
	}
	return a.k.Check(normaliseKey(key))
}

// Failed records a failed attempt from key.
func (a *Attempts) Failed(key string) {
	if a == nil {
		return
	}
	a.k.Spend(normaliseKey(key))
}

func normaliseKey(key string) string {
	if addr, err := netip.ParseAddr(key); err == nil {
		return sourceKey(addr)
	}
	return key
}

// SetRetryAfter sets the Retry-After header of a refusal.
func SetRetryAfter(h http.Header, d time.Duration) {
	h.Set("Retry-After", RetryAfterSeconds(d))
}

// ParseRate reads a limit written as RATE/UNIT:BURST — "5/s:50" (5 a second,
// bursts of 50), "10/m:10" (10 a minute), "5000/s:10000" — or "off" (or
// "0") for no limit. Without ":BURST" the burst is the rate per unit,
// at least 1.
func ParseRate(s string) (Rate, error) {
	s = strings.TrimSpace(strings.ToLower(s))
	if s == "off" || s == "0" || s == "" {
		return Rate{}, nil
	}
	spec, burstText, hasBurst := strings.Cut(s, ":")
	num, unit, ok := strings.Cut(spec, "/")
	if !ok {
		return Rate{}, errors.New(`must look like 5/s:50 (rate per s, m or h, then the burst) or "off"`)
	}
	n, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || n <= 0 || math.IsInf(n, 0) || math.IsNaN(n) || n > 1e6 {
		return Rate{}, errors.New("the rate must be a positive number up to 1000000")
	}
	var per time.Duration
	switch strings.TrimSpace(unit) {
	case "s", "sec", "second":
		per = time.Second
	case "m", "min", "minute":
		per = time.Minute
	case "h", "hour":
		per = time.Hour
	default:
		return Rate{}, errors.New("the unit must be s, m or h")
	}
	r := Rate{PerSecond: n / per.Seconds(), Burst: int(math.Max(1, math.Ceil(n)))}
	if hasBurst {
		b, err := strconv.Atoi(strings.TrimSpace(burstText))
		if err != nil || b < 1 || b > 1e7 {
			return Rate{}, errors.New("the burst must be a whole number from 1 to 10000000")
		}
		r.Burst = b
	}
	return r, nil
}

// String renders r as ParseRate reads it.
func (r Rate) String() string {
	if r.Off() {
		return "off"
	}
	if r.PerSecond >= 1 {
		return strconv.FormatFloat(r.PerSecond, 'f', -1, 64) + "/s:" + strconv.Itoa(r.Burst)
	}
	return strconv.FormatFloat(r.PerSecond*60, 'f', -1, 64) + "/m:" + strconv.Itoa(r.Burst)
}
