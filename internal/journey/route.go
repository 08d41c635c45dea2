package journey

import (
	"errors"
	"fmt"
)

// Assignment says that an event belongs to one instance of a definition.
type Assignment struct {
	// Definition is the definition's key.
	Definition string `json:"definition"`
	// Version is the definition's version at routing time.
	Version int `json:"version"`
	// Key is the correlation key: a customer id or a resource id.
	Key string `json:"key"`
	// Opens reports whether the event may open a new instance. When false
	// the event only joins an instance that already exists; the pipeline
	// still keeps it with its correlation key, because the opening event may
	// arrive later and the instance is then evaluated over every stored
	// event of the key, this one included.
	Opens bool `json:"opens"`
}

// Router routes events to definitions. It indexes the definitions by topic
// once, so routing an event costs one map lookup plus a few comparisons. It
// is immutable and safe for concurrent use; build a new one when the
// definitions change.
type Router struct {
	defs    []Definition
	byKey   map[string]int
	byTopic map[string][]routeEntry
}

type routeEntry struct {
	def   int // index into Router.defs
	opens bool
}

// NewRouter indexes the enabled definitions. It refuses invalid definitions
// and duplicate keys, so a broken custom definition is reported when the
// pipeline loads it instead of routing events nowhere; validate definitions
// when they are saved and this never fails.
func NewRouter(defs []Definition) (*Router, error) {
	r := &Router{byKey: map[string]int{}, byTopic: map[string][]routeEntry{}}
	var errs []error
	for _, d := range defs {
		if !d.Enabled {
			continue
		}
		if _, err := Validate(d); err != nil {
			errs = append(errs, fmt.Errorf("journey %q: %w", d.Key, err))
			continue
		}
		if _, dup := r.byKey[d.Key]; dup {
			errs = append(errs, fmt.Errorf("journey %q: defined twice", d.Key))
			continue
		}
		i := len(r.defs)
		r.defs = append(r.defs, d.Clone())
		r.byKey[d.Key] = i
		start := map[string]bool{}
		for _, t := range d.Start.Topics {
			start[t] = true
		}
		for _, t := range d.Topics() {
			opens := !contains(d.ExcludeTopics, t) && (d.Start.AnyTopic || start[t])
			r.byTopic[t] = append(r.byTopic[t], routeEntry{def: i, opens: opens})
		}
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("building journey router: %w", errors.Join(errs...))
	}
	return r, nil
}

// Route returns the instances ev belongs to: one assignment per enabled
// definition that lists its topic and can key it. Most events belong to one
// journey; a customer's verification events may belong to two (the personal
// and business journeys, one of which will exclude itself).
func (r *Router) Route(ev Event) []Assignment {
	return r.AppendRoute(nil, ev)
}

// AppendRoute is Route appending to dst, so a batch can reuse one slice and
// route without allocating.
func (r *Router) AppendRoute(dst []Assignment, ev Event) []Assignment {
	for _, e := range r.byTopic[ev.Topic] {
		d := &r.defs[e.def]
		key, ok := d.Correlation.correlationKey(ev)
		if !ok {
			continue
		}
		dst = append(dst, Assignment{Definition: d.Key, Version: d.Version, Key: key, Opens: e.opens})
	}
	return dst
}

// Definition returns the routed definition with key, if it is enabled.
func (r *Router) Definition(key string) (Definition, bool) {
	i, ok := r.byKey[key]
	if !ok {
		return Definition{}, false
	}
	return r.defs[i].Clone(), true
}

// Definitions returns the enabled definitions the router routes to, in the
// order given to NewRouter.
func (r *Router) Definitions() []Definition {
	out := make([]Definition, len(r.defs))
	for i, d := range r.defs {
		out[i] = d.Clone()
	}
	return out
}
