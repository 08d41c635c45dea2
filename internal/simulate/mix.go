package simulate

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
)

// Mix weighs what the simulator produces: which journeys start
// ("personal", "business", "funding", "transfer", "masspayment") and how
// each ends ("transfer.failed", "personal.kba", …). Weights are relative
// within their group; a missing key has weight 0.
type Mix map[string]float64

// mixGroups lists each group's outcomes, in a fixed order.
var mixGroups = map[string][]string{
	"":            {"personal", "business", "funding", "transfer", "masspayment"},
	"personal":    {"verified", "retry", "kba", "document", "suspended", "unverified"},
	"business":    {"verified", "document", "review", "retry"},
	"funding":     {"instant", "microdeposits", "microdeposits-failed", "maxattempts"},
	"transfer":    {"completed", "failed", "cancelled", "creation-failed", "late-failure"},
	"masspayment": {"completed", "cancelled"},
}

// DefaultMix is a plausible production blend: mostly transfers that
// complete, some verification work, a few failures of every kind.
func DefaultMix() Mix {
	return Mix{
		"personal": 20, "business": 5, "funding": 15, "transfer": 55, "masspayment": 5,
		"personal.verified": 55, "personal.retry": 15, "personal.kba": 10, "personal.document": 10,
		"personal.suspended": 3, "personal.unverified": 7,
		"business.verified": 60, "business.document": 20, "business.review": 10, "business.retry": 10,
		"funding.instant": 60, "funding.microdeposits": 25, "funding.microdeposits-failed": 8, "funding.maxattempts": 7,
		"transfer.completed": 80, "transfer.failed": 8, "transfer.cancelled": 4, "transfer.creation-failed": 3, "transfer.late-failure": 5,
		"masspayment.completed": 90, "masspayment.cancelled": 10,
	}
}

// MixKeys lists every key a Mix may hold.
func MixKeys() []string {
	var out []string
	for group, names := range mixGroups {
		for _, n := range names {
			if group == "" {
				out = append(out, n)
			} else {
				out = append(out, group+"."+n)
			}
		}
	}
	sort.Strings(out)
	return out
}

// ParseMix reads "transfer=60,transfer.failed=20,personal.kba=5" over the
// default mix: named keys change, the others keep their default.
func ParseMix(s string) (Mix, error) {
	m := DefaultMix()
	valid := map[string]bool{}
	for _, k := range MixKeys() {
		valid[k] = true
	}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k = strings.TrimSpace(strings.ToLower(k))
		if !ok {
			return nil, fmt.Errorf("mix entry %q must be key=weight", part)
		}
		if !valid[k] {
			return nil, fmt.Errorf("unknown mix key %q (known: %s)", k, strings.Join(MixKeys(), ", "))
		}
		w, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || w < 0 || w != w {
			return nil, fmt.Errorf("mix weight of %s must be a non-negative number", k)
		}
		m[k] = w
	}
	return m, m.Validate()
}

// Validate checks that every group has some weight.
func (m Mix) Validate() error {
	for group, names := range mixGroups {
		total := 0.0
		for _, n := range names {
			total += m.weight(group, n)
		}
		if total <= 0 {
			if group == "" {
				return fmt.Errorf("the mix gives no weight to any journey")
			}
			return fmt.Errorf("the mix gives no weight to any %s outcome", group)
		}
	}
	return nil
}

func (m Mix) weight(group, name string) float64 {
	if group == "" {
		return m[name]
	}
	return m[group+"."+name]
}

// pick draws one name of group by weight.
func (m Mix) pick(r *rand.Rand, group string) string {
	names := mixGroups[group]
	total := 0.0
	for _, n := range names {
		total += m.weight(group, n)
	}
	x := r.Float64() * total
	for _, n := range names {
		x -= m.weight(group, n)
		if x < 0 {
			return n
		}
	}
	return names[len(names)-1]
}

// String renders the mix as ParseMix reads it.
func (m Mix) String() string {
	var parts []string
	for _, k := range MixKeys() {
		if v, ok := m[k]; ok {
			parts = append(parts, k+"="+strconv.FormatFloat(v, 'g', -1, 64))
		}
	}
	return strings.Join(parts, ",")
}
