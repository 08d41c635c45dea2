package journey

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Definition describes one lifecycle as data. It is stored as JSON in the
// database and edited by admins through GraphQL, so its JSON field names are
// part of hooklens' contract: add fields, never rename them.
type Definition struct {
	// Key identifies the definition: lower-case letters, digits and _.
	Key string `json:"key"`
	// Name is shown to people.
	Name string `json:"name"`
	// Description says what the journey follows, in a sentence or two.
	Description string `json:"description,omitempty"`
	// Version is raised on every change, so instances record which rules
	// produced them.
	Version int `json:"version"`
	// Enabled definitions are routed to; disabled ones are kept but idle.
	Enabled bool `json:"enabled"`
	// Correlation says which id groups events into one instance.
	Correlation Correlation `json:"correlation"`
	// Start says which events may open a new instance.
	Start StartRule `json:"start"`
	// Steps are the milestones in lifecycle order.
	Steps []Step `json:"steps"`
	// SuccessTopics end the journey as completed. Usually they are also the
	// topics of the last step, so the timeline shows the step reached.
	SuccessTopics []string `json:"successTopics"`
	// FailureTopics end the journey as failed. They may not be step topics.
	FailureTopics []string `json:"failureTopics,omitempty"`
	// SuccessIsFinal keeps a completed journey completed when a failure
	// topic follows (it is noted instead). Leave it false where a later
	// failure undoes the success, as a late ACH return undoes a completed
	// transfer; set it where it does not, as removing a bank a year after
	// verifying it does not unverify the verification journey.
	SuccessIsFinal bool `json:"successIsFinal,omitempty"`
	// ExcludeTopics mark an instance as belonging to another journey when
	// any of them is among its events (see State.Excluded). Webhooks do not
	// say whether a customer is personal or business, or how a bank is
	// verified; the presence of certain topics does.
	ExcludeTopics []string `json:"excludeTopics,omitempty"`
	// AbandonAfter is how long an unfinished instance may go without any
	// event before it is abandoned.
	AbandonAfter Duration `json:"abandonAfter"`
}

// Step is one milestone of a journey.
type Step struct {
	// Key identifies the step within its definition.
	Key string `json:"key"`
	// Name is shown to people.
	Name string `json:"name"`
	// Description says what the step means, optionally.
	Description string `json:"description,omitempty"`
	// Topics complete the step; any one of them is enough.
	Topics []string `json:"topics"`
	// Within is the time limit for reaching this step from the step reached
	// before it on the path actually taken. The first step has none (zero).
	Within Duration `json:"within,omitzero"`
	// Optional steps happen only on some paths (a KBA check, a document
	// request); progress does not count them until they are taken.
	Optional bool `json:"optional,omitempty"`
	// Repeatable steps may be reached again after later steps, which is how
	// loops are expressed: a rejected document is uploaded again.
	Repeatable bool `json:"repeatable,omitempty"`
}

// CorrelateBy names the id that groups events into one instance.
type CorrelateBy string

// The ids an instance can be keyed by.
const (
	// ByCustomer keys on the event's customer link: verification journeys,
	// whose events are about customers and their documents.
	ByCustomer CorrelateBy = "customer"
	// ByResource keys on the event's resource id: transfers, funding
	// sources, beneficial owners, mass payments.
	ByResource CorrelateBy = "resource"
)

// Correlation says how events are grouped into instances.
type Correlation struct {
	// By is "customer" or "resource".
	By CorrelateBy `json:"by"`
	// ResourceTypes, when set, admits only events whose resource is of one
	// of these types (transfer, funding-source, beneficial-owner, …). It
	// keeps a resource-keyed journey from adopting a document id, say.
	ResourceTypes []string `json:"resourceTypes,omitempty"`
}

// StartRule says which events may open a new instance; the others only join
// an instance that exists. It exists so that a customer_created for a
// receive-only customer does not open a verification journey that can never
// finish.
type StartRule struct {
	// AnyTopic lets every step, success and failure topic open an instance.
	// Right for resources whose every event proves the journey exists
	// (transfers), since Dwolla may deliver the completion first.
	AnyTopic bool `json:"anyTopic,omitempty"`
	// Topics may open an instance when AnyTopic is false.
	Topics []string `json:"topics,omitempty"`
}

// ParseDefinition decodes a definition from JSON, rejecting unknown fields so
// that an admin's typo ("withn") is an error rather than a silently ignored
// limit. It does not validate; call Validate.
func ParseDefinition(data []byte) (Definition, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var d Definition
	if err := dec.Decode(&d); err != nil {
		return Definition{}, fmt.Errorf("decoding journey definition: %w", err)
	}
	if dec.More() {
		return Definition{}, fmt.Errorf("decoding journey definition: trailing data after the object")
	}
	return d, nil
}

// Clone returns a deep copy, so a caller can edit it without touching the
// original's slices.
func (d Definition) Clone() Definition {
	c := d
	c.Correlation.ResourceTypes = cloneStrings(d.Correlation.ResourceTypes)
	c.Start.Topics = cloneStrings(d.Start.Topics)
	c.SuccessTopics = cloneStrings(d.SuccessTopics)
	c.FailureTopics = cloneStrings(d.FailureTopics)
	c.ExcludeTopics = cloneStrings(d.ExcludeTopics)
	if d.Steps != nil {
		c.Steps = make([]Step, len(d.Steps))
		for i, s := range d.Steps {
			s.Topics = cloneStrings(s.Topics)
			c.Steps[i] = s
		}
	}
	return c
}

// Topics returns every topic the definition routes, in definition order
// (steps, success, failure, exclude), each once.
func (d Definition) Topics() []string {
	seen := map[string]bool{}
	var out []string
	add := func(ts []string) {
		for _, t := range ts {
			if !seen[t] {
				seen[t] = true
				out = append(out, t)
			}
		}
	}
	for _, s := range d.Steps {
		add(s.Topics)
	}
	add(d.SuccessTopics)
	add(d.FailureTopics)
	add(d.ExcludeTopics)
	return out
}

func cloneStrings(s []string) []string {
	if s == nil {
		return nil
	}
	return append([]string(nil), s...)
}

// Duration is a time.Duration that reads and writes JSON as text people can
// edit: "90s", "36h", "7d", "2d12h". Days are 24 hours; Dwolla's business
// days are turned into calendar limits by the definitions, not here.
type Duration time.Duration

const day = 24 * time.Hour

// String formats d compactly: whole days as "7d", the rest as Go does
// without trailing zero units ("1h30m", not "1h30m0s").
func (d Duration) String() string {
	v := time.Duration(d)
	if v == 0 {
		return "0s"
	}
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	days := v / day
	rest := v % day
	var b strings.Builder
	b.WriteString(sign)
	if days > 0 {
		b.WriteString(strconv.FormatInt(int64(days), 10))
		b.WriteByte('d')
	}
	if rest > 0 {
		s := rest.String()
		// time.Duration writes 1h0m0s; drop the zero units it pads with.
		if strings.HasSuffix(s, "m0s") {
			s = strings.TrimSuffix(s, "0s")
		}
		if strings.HasSuffix(s, "h0m") {
			s = strings.TrimSuffix(s, "0m")
		}
		b.WriteString(s)
	}
	return b.String()
}

// ParseDuration reads the format String writes: an optional count of days
// ("7d") followed by anything time.ParseDuration accepts.
func ParseDuration(s string) (Duration, error) {
	in := strings.TrimSpace(s)
	neg := false
	if strings.HasPrefix(in, "-") {
		neg, in = true, in[1:]
	}
	var total time.Duration
	if i := strings.IndexByte(in, 'd'); i >= 0 {
		n, err := strconv.ParseInt(in[:i], 10, 32)
		if err != nil || n < 0 {
			return 0, fmt.Errorf("%q is not a duration like \"36h\" or \"7d\"", s)
		}
		total = time.Duration(n) * day
		in = in[i+1:]
	}
	if in != "" {
		v, err := time.ParseDuration(in)
		if err != nil {
			return 0, fmt.Errorf("%q is not a duration like \"36h\" or \"7d\"", s)
		}
		total += v
	} else if total == 0 && !strings.Contains(s, "d") {
		return 0, fmt.Errorf("%q is not a duration like \"36h\" or \"7d\"", s)
	}
	if neg {
		total = -total
	}
	return Duration(total), nil
}

// MarshalJSON writes the duration as text, e.g. "7d".
func (d Duration) MarshalJSON() ([]byte, error) {
	return json.Marshal(d.String())
}

// UnmarshalJSON reads text such as "36h" or "7d".
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("a duration must be a string like \"36h\" or \"7d\", not %s", b)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
