package fuzz_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/hooklens/hooklens/internal/netguard"
)

// FuzzParsePrefixes: never panics; whatever parses contains its own
// address and survives a round trip through its string form.
func FuzzParsePrefixes(f *testing.F) {
	for _, s := range []string{"10.0.0.0/8", "192.0.2.7, 2001:db8::/32", "::ffff:1.2.3.4/120", "fe80::1%eth0", "1.2.3.4/33", ",,"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		ps, err := netguard.ParsePrefixes(spec)
		if err != nil {
			return
		}
		for _, p := range ps {
			if !p.IsValid() || !(netguard.PrefixSet{p}).Contains(p.Addr()) {
				t.Fatalf("prefix %v from %q does not contain its own address", p, spec)
			}
			again, err := netguard.ParsePrefixes(p.String())
			if err != nil || len(again) != 1 || again[0] != p {
				t.Fatalf("prefix %v does not round-trip: %v %v", p, again, err)
			}
		}
	})
}

// FuzzClientAddr: whatever X-Forwarded-For says, the resolved client is the
// peer or an address that appears in the header, and an untrusted peer is
// never overridden.
func FuzzClientAddr(f *testing.F) {
	for _, s := range []string{"1.2.3.4", "1.2.3.4, 10.0.0.1", "[::1]:80, garbage", "", " , ,", "::ffff:10.0.0.1"} {
		f.Add("127.0.0.1:80", s)
		f.Add("203.0.113.1:80", s)
	}
	trusted, _ := netguard.ParsePrefixes("127.0.0.0/8, 10.0.0.0/8")
	rs := netguard.NewResolver(trusted)
	f.Fuzz(func(t *testing.T, remote, xff string) {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.RemoteAddr = remote
		r.Header.Set("X-Forwarded-For", xff)
		got := rs.ClientAddr(r)
		peer := netguard.PeerAddr(remote)
		if !peer.IsValid() {
			if got.IsValid() {
				t.Fatalf("no peer, yet a client %v", got)
			}
			return
		}
		if !netguard.PrefixSet(trusted).Contains(peer) {
			if got != peer {
				t.Fatalf("untrusted peer %v overridden by %v", peer, got)
			}
			return
		}
		if got == peer {
			return
		}
		// The oracle reads each hop with PeerAddr, with and without
		// brackets: more lenient than the resolver, never stricter.
		found := false
		for _, hop := range strings.Split(xff, ",") {
			hop = strings.TrimSpace(hop)
			if netguard.PeerAddr(hop) == got || netguard.PeerAddr(strings.Trim(hop, "[]")) == got {
				found = true
			}
		}
		if !found {
			t.Fatalf("client %v is neither the peer nor in %q", got, xff)
		}
	})
}
