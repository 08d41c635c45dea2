// Package netguard decides who may talk to hooklens and how fast: the real
// client address behind trusted reverse proxies, the optional CIDR
// allow-list for webhook sources, per-source and global token buckets for
// the webhook receiver, and the limiter of failed sign-ins.
//
// Its limits are sized for Dwolla, which delivers at most 10 webhooks at
// once (support can lower that, never raise it) from addresses it does not
// publish: a burst from Dwolla must never be refused, because every refusal
// costs a retry that Dwolla schedules 15 minutes or more later.
//
// This package must never trust a forwarding header from a peer outside the
// trusted proxies, never keep unbounded state per address, and never read a
// request body.
package netguard

import (
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"strings"
)

// ParsePrefixes parses a comma-separated list of CIDR prefixes or single
// addresses ("10.0.0.0/8, 192.0.2.7, 2001:db8::/32"). IPv4-mapped IPv6
// forms are unmapped, so either spelling matches an IPv4 peer. An empty
// spec gives no prefixes. Errors name the entry by position.
func ParsePrefixes(spec string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	if strings.TrimSpace(spec) == "" {
		return nil, nil
	}
	for i, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := parsePrefix(part)
		if err != nil {
			return nil, fmt.Errorf("entry %d (%q): %w", i+1, truncate(part, 64), err)
		}
		out = append(out, p)
	}
	return out, nil
}

func parsePrefix(s string) (netip.Prefix, error) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, errors.New("not a CIDR prefix like 10.0.0.0/8 or 2001:db8::/32")
		}
		if p.Addr().Is4In6() && p.Bits() >= 96 {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		return p.Masked(), nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, errors.New("not an IP address or CIDR prefix")
	}
	a = a.Unmap().WithZone("")
	return netip.PrefixFrom(a, a.BitLen()), nil
}

// PrefixSet is a set of prefixes to match addresses against.
type PrefixSet []netip.Prefix

// Contains reports whether a lies in one of the prefixes.
func (s PrefixSet) Contains(a netip.Addr) bool {
	a = a.Unmap().WithZone("")
	for _, p := range s {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// Resolver finds a request's client address. Behind reverse proxies the
// peer is the proxy; the client is then read from X-Forwarded-For, walking
// from the right (the entry the nearest proxy appended) past every trusted
// proxy to the first address that is not one. Entries left of it were
// written by the client itself and are ignored: they can say anything.
type Resolver struct {
	trusted PrefixSet
}

// NewResolver trusts forwarding headers only from peers in trusted. With
// none, the peer address is the client, whatever the headers say.
func NewResolver(trusted []netip.Prefix) *Resolver {
	return &Resolver{trusted: PrefixSet(trusted)}
}

// ClientAddr returns the client address of r (the zero Addr when even the
// peer address cannot be read).
func (rs *Resolver) ClientAddr(r *http.Request) netip.Addr {
	peer := PeerAddr(r.RemoteAddr)
	if !peer.IsValid() || len(rs.trusted) == 0 || !rs.trusted.Contains(peer) {
		return peer
	}
	return rs.walk(peer, r.Header.Values("X-Forwarded-For"))
}

// walk goes through the forwarded chain from the right, starting at the
// trusted peer.
func (rs *Resolver) walk(peer netip.Addr, headers []string) netip.Addr {
	var hops []string
	for _, h := range headers {
		hops = append(hops, strings.Split(h, ",")...)
	}
	client := peer
	for i := len(hops) - 1; i >= 0; i-- {
		a, ok := parseHop(hops[i])
		if !ok {
			// Garbage appended by (or passed through) a trusted proxy: stop at
			// the last address we could vouch for.
			return client
		}
		client = a
		if !rs.trusted.Contains(a) {
			return a
		}
	}
	return client
}

// parseHop reads one X-Forwarded-For entry: an address, maybe with a port,
// IPv6 maybe in brackets.
func parseHop(s string) (netip.Addr, bool) {
	s = strings.TrimSpace(s)
	if s == "" || len(s) > 64 {
		return netip.Addr{}, false
	}
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().Unmap().WithZone(""), true
	}
	s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap().WithZone(""), true
}

// PeerAddr parses a RemoteAddr ("host:port" or a bare address).
func PeerAddr(remote string) netip.Addr {
	if ap, err := netip.ParseAddrPort(remote); err == nil {
		return ap.Addr().Unmap().WithZone("")
	}
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return netip.Addr{}
	}
	return a.Unmap().WithZone("")
}

// Middleware rewrites each request's RemoteAddr to its client address, so
// everything after it (access logs, delivery records, limits, sessions)
// sees the client and not the proxy. It must run first in the chain. With
// no trusted proxies it changes nothing.
func (rs *Resolver) Middleware(next http.Handler) http.Handler {
	if len(rs.trusted) == 0 {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		peer := PeerAddr(r.RemoteAddr)
		client := rs.ClientAddr(r)
		if client.IsValid() && client != peer {
			r = r.WithContext(r.Context()) // a shallow copy; headers are shared, not changed
			r.RemoteAddr = netip.AddrPortFrom(client, 0).String()
		}
		next.ServeHTTP(w, r)
	})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
