package ingest

import (
	"sort"
	"sync"
	"time"

	"github.com/hooklens/hooklens/internal/netguard"
)

// DefaultRefusalSample is how many rejected deliveries per source, outcome
// and minute are recorded one row each; the rest are only counted.
const DefaultRefusalSample = 20

// maxRefusalKeys bounds the sources counted separately in one minute; a
// flood from more addresses is counted under the source "other".
const maxRefusalKeys = 10_000

// RefusalCount is the number of rejected deliveries of one source and
// outcome in one minute that were counted but not recorded one by one.
type RefusalCount struct {
	Minute  time.Time
	Source  string
	Outcome string
	Count   int
}

// refusals samples rejected deliveries: one unauthenticated source must not
// grow the database by a row per forged request (a flood of 5,500 a second
// grew SQLite by 7 GB an hour). The first sample per source, outcome and
// minute are recorded as delivery rows, enough to investigate; the rest
// are counted in memory and handed out by Receiver.TakeRefusals.
type refusals struct {
	sample int
	mu     sync.Mutex
	seen   map[refusalKey]int
}

type refusalKey struct {
	minute          int64
	source, outcome string
}

// record reports whether this rejection gets its own row.
func (rf *refusals) record(source, outcome string, at time.Time) bool {
	if rf.sample < 0 {
		return true // sampling off
	}
	k := refusalKey{minute: at.Unix() / 60, source: source, outcome: outcome}
	rf.mu.Lock()
	defer rf.mu.Unlock()
	if rf.seen == nil {
		rf.seen = map[refusalKey]int{}
	}
	if _, ok := rf.seen[k]; !ok && len(rf.seen) >= maxRefusalKeys {
		k.source = "other"
	}
	rf.seen[k]++
	return rf.seen[k] <= rf.sample
}

// take returns the counts beyond the sample of the minutes before now and
// forgets those minutes; the current minute is still counting.
func (rf *refusals) take(now time.Time) []RefusalCount {
	cur := now.Unix() / 60
	rf.mu.Lock()
	defer rf.mu.Unlock()
	var out []RefusalCount
	for k, n := range rf.seen {
		if k.minute >= cur {
			continue
		}
		if n > rf.sample {
			out = append(out, RefusalCount{Minute: time.Unix(k.minute*60, 0).UTC(), Source: k.source, Outcome: k.outcome, Count: n - rf.sample})
		}
		delete(rf.seen, k)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].Minute.Equal(out[j].Minute) {
			return out[i].Minute.Before(out[j].Minute)
		}
		if out[i].Source != out[j].Source {
			return out[i].Source < out[j].Source
		}
		return out[i].Outcome < out[j].Outcome
	})
	return out
}

// TakeRefusals returns the rejected deliveries that were counted but not
// recorded, per source, outcome and minute, for the minutes that are over,
// and forgets them. Call it periodically (the server logs them every 15 s).
func (r *Receiver) TakeRefusals(now time.Time) []RefusalCount { return r.refusals.take(now) }

// refusalSource is the key a rejection is sampled by: the guard's source
// (IPv6 by /64).
func refusalSource(remote string) string {
	a := netguard.PeerAddr(remote)
	if !a.IsValid() {
		return remote
	}
	if a.Is6() && !a.Is4In6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}
