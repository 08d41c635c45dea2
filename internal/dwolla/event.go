package dwolla

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxEventIDLength bounds the event id accepted from a body; Dwolla's are UUIDs.
const MaxEventIDLength = 128

// The created time of an event is kept whatever it says (the body is
// signed), but a time no genuine delivery can carry is flagged so that time
// statistics leave it out. Dwolla retries a webhook for 72 hours and its
// Events API keeps events for EventRetention, so nothing genuine is received
// more than CreatedMaxAge after its creation; a created time more than
// CreatedMaxAhead after receipt is beyond any clock skew.
const (
	CreatedMaxAge   = EventRetention + 24*time.Hour
	CreatedMaxAhead = 5 * time.Minute
)

// Link is a HAL link as Dwolla writes them.
type Link struct {
	Href         string `json:"href"`
	Type         string `json:"type,omitempty"`
	ResourceType string `json:"resource-type,omitempty"`
}

// Event is a Dwolla event as delivered by a webhook or listed by the Events
// API: the fields hooklens reads from it. The body itself is kept byte for
// byte by the caller.
type Event struct {
	ID            string    `json:"id"`
	Topic         string    `json:"topic"`
	Created       time.Time `json:"-"`
	ResourceID    string    `json:"resourceId,omitempty"`
	ResourceType  string    `json:"-"`
	CustomerID    string    `json:"-"`
	AccountID     string    `json:"-"`
	CorrelationID string    `json:"correlationId,omitempty"`
	// CreatedImplausible flags a created time no genuine delivery can carry
	// (see CreatedMaxAge and CreatedMaxAhead); CreatedImplausibleReason says
	// why. Such an event is kept, since it is signed, but it must stay out
	// of time statistics such as delivery lag.
	CreatedImplausible       bool   `json:"-"`
	CreatedImplausibleReason string `json:"-"`
}

// ParseError says why a body is not a usable Dwolla event.
type ParseError struct{ Reason string }

func (e *ParseError) Error() string { return "malformed event: " + e.Reason }

// IsParseError reports whether err came from ParseEvent.
func IsParseError(err error) bool {
	var pe *ParseError
	return errors.As(err, &pe)
}

// ParseEvent decodes a webhook body received now. See ParseEventAt.
func ParseEvent(body []byte) (*Event, error) {
	return ParseEventAt(body, time.Now())
}

// ParseEventAt decodes a webhook body received at received. It requires a
// JSON object with a string id, a string topic and a creation time in
// created or, failing that, timestamp (older deliveries carry only
// timestamp). Everything else is optional and derived where Dwolla leaves it
// implicit: the resource id and type from _links.resource, the customer from
// _links.customer. Ids are lower-cased because old transfer ids appear
// upper-case in some events.
//
// The body is read in one pass without building a generic tree, and must be
// valid UTF-8 JSON throughout. A body in which a member hooklens reads
// (id, topic, created, timestamp, resourceId, correlationId, _links, and
// resource, customer, account and their href and resource-type inside
// _links) appears twice, or under a case variant such as "ID", is refused:
// consumers of the stored body would not agree on its value.
func ParseEventAt(body []byte, received time.Time) (*Event, error) {
	if !utf8.Valid(body) {
		return nil, &ParseError{"body is not valid UTF-8"}
	}
	start, end := 0, len(body)
	for start < end && isJSONSpace(body[start]) {
		start++
	}
	for end > start && isJSONSpace(body[end-1]) {
		end--
	}
	if start == end || body[start] != '{' {
		return nil, &ParseError{"body is not a JSON object"}
	}
	s := scanner{b: body[:end], i: start, base: start}
	var w wireEvent
	if err := s.event(&w); err != nil {
		return nil, err
	}
	if s.skipSpace(); s.i < len(s.b) {
		return nil, s.syntaxError()
	}
	if s.refusal != "" {
		return nil, &ParseError{s.refusal}
	}
	return w.event(body, received)
}

// dwollaEpoch is before any Dwolla event: Dwolla was founded in 2008.
var dwollaEpoch = time.Date(2008, 1, 1, 0, 0, 0, 0, time.UTC)

// ImpossibleCreated reports whether created cannot be when the event
// happened at all, whatever the delivery: before Dwolla existed, or after
// it was received (beyond clock skew). Unlike CheckCreated, an old event
// replayed or imported long after its creation is possible. Journeys use
// the receipt time instead of an impossible created time.
func ImpossibleCreated(created, received time.Time) bool {
	return created.Before(dwollaEpoch) || created.After(received.Add(CreatedMaxAhead))
}

// CheckCreated says whether created is a time a delivery received at
// received can genuinely carry: the empty string if so, else why not.
func CheckCreated(created, received time.Time) string {
	switch {
	case created.Before(received.Add(-CreatedMaxAge)):
		return fmt.Sprintf("created more than %d days before receipt", CreatedMaxAge/(24*time.Hour))
	case created.After(received.Add(CreatedMaxAhead)):
		return fmt.Sprintf("created more than %s after receipt", CreatedMaxAhead)
	}
	return ""
}

// The top-level members hooklens reads, and the links it reads in _links.
const (
	fieldID = iota
	fieldTopic
	fieldCreated
	fieldTimestamp
	fieldResourceID
	fieldCorrelationID
	fieldLinks
	numFields
)

var fieldNames = [numFields]string{"id", "topic", "created", "timestamp", "resourceId", "correlationId", "_links"}

const (
	linkResource = iota
	linkCustomer
	linkAccount
	numLinks
)

var linkNames = [numLinks]string{"resource", "customer", "account"}

// value kinds of a span
const (
	kindAbsent = iota
	kindNull
	kindString
	kindOther
)

// span locates a member's value in the body; for a string, the text
// between its quotes.
type span struct {
	kind       uint8
	escaped    bool
	start, end int
}

type wireLink struct {
	present      bool
	href         span
	resourceType span
}

// wireEvent is what one pass over a body finds.
type wireEvent struct {
	fields [numFields]span
	links  [numLinks]wireLink
	// linksBad: _links is not an object whose members are links (objects
	// whose href, type and resource-type are strings).
	linksBad bool
}

func (w *wireEvent) event(body []byte, received time.Time) (*Event, error) {
	ev := &Event{}
	var err error
	if ev.ID, err = w.required(body, fieldID); err != nil {
		return nil, err
	}
	if len(ev.ID) > MaxEventIDLength || !isIDText(ev.ID) {
		return nil, &ParseError{fmt.Sprintf("id must be 1–%d letters, digits or -_.:", MaxEventIDLength)}
	}
	if ev.Topic, err = w.required(body, fieldTopic); err != nil {
		return nil, err
	}
	if len(ev.Topic) > 128 || !isIDText(ev.Topic) {
		return nil, &ParseError{"topic must be at most 128 letters, digits or -_.:"}
	}
	field := fieldCreated
	if k := w.fields[field].kind; k == kindAbsent || k == kindNull {
		field = fieldTimestamp
	}
	if k := w.fields[field].kind; k == kindAbsent || k == kindNull {
		return nil, &ParseError{"missing created (and timestamp)"}
	}
	created, err := w.required(body, field)
	if err != nil {
		return nil, err
	}
	if ev.Created, err = time.Parse(time.RFC3339Nano, created); err != nil {
		return nil, &ParseError{fieldNames[field] + " is not an ISO-8601 time"}
	}
	ev.Created = ev.Created.UTC()
	if ev.ResourceID, err = w.optional(body, fieldResourceID); err != nil {
		return nil, err
	}
	if ev.CorrelationID, err = w.optional(body, fieldCorrelationID); err != nil {
		return nil, err
	}
	if w.linksBad {
		return nil, &ParseError{"_links is not an object of links"}
	}
	w.derive(body, ev)
	if reason := CheckCreated(ev.Created, received); reason != "" {
		ev.CreatedImplausible, ev.CreatedImplausibleReason = true, reason
	}
	return ev, nil
}

func (w *wireEvent) required(body []byte, f int) (string, error) {
	sp := w.fields[f]
	switch sp.kind {
	case kindAbsent, kindNull:
		return "", &ParseError{"missing " + fieldNames[f]}
	case kindOther:
		return "", &ParseError{fieldNames[f] + " must be a string"}
	}
	s := strings.TrimSpace(sp.text(body))
	if s == "" {
		return "", &ParseError{fieldNames[f] + " is empty"}
	}
	return s, nil
}

func (w *wireEvent) optional(body []byte, f int) (string, error) {
	sp := w.fields[f]
	switch sp.kind {
	case kindAbsent, kindNull:
		return "", nil
	case kindOther:
		return "", &ParseError{fieldNames[f] + " must be a string"}
	}
	return strings.TrimSpace(sp.text(body)), nil
}

// text is a string span's decoded value ("" for null).
func (sp span) text(body []byte) string {
	if sp.kind != kindString {
		return ""
	}
	raw := body[sp.start:sp.end]
	if !sp.escaped {
		return string(raw)
	}
	return string(unescape(make([]byte, 0, len(raw)), raw))
}

func (w *wireEvent) derive(body []byte, ev *Event) {
	if res := w.links[linkResource]; res.present {
		segment, id := lastTwoSegments(res.href.text(body))
		if ev.ResourceID == "" {
			ev.ResourceID = id
		}
		ev.ResourceType = resourceTypeOf(res.resourceType.text(body), segment)
	}
	if ev.ResourceType == "" {
		if t, ok := LookupTopic(ev.Topic); ok {
			ev.ResourceType = t.Resource
		}
	}
	if c := w.links[linkCustomer]; c.present {
		_, ev.CustomerID = lastTwoSegments(c.href.text(body))
	}
	if a := w.links[linkAccount]; a.present {
		_, ev.AccountID = lastTwoSegments(a.href.text(body))
	}
	ev.ResourceID = strings.ToLower(ev.ResourceID)
	ev.CustomerID = strings.ToLower(ev.CustomerID)
	ev.AccountID = strings.ToLower(ev.AccountID)
}

// resourceTypes maps Dwolla's URL path segments to singular resource names.
var resourceTypes = map[string]string{
	"accounts":           "account",
	"customers":          "customer",
	"transfers":          "transfer",
	"funding-sources":    "funding-source",
	"documents":          "document",
	"beneficial-owners":  "beneficial-owner",
	"mass-payments":      "mass-payment",
	"mass-payment-items": "mass-payment-item",
	"labels":             "label",
	"ledger-entries":     "label-ledger-entry",
	"exchanges":          "exchange",
	"statements":         "statement",
	"balance-checks":     "balance-check",
}

func resourceTypeOf(linkType, segment string) string {
	if linkType != "" {
		return strings.ToLower(linkType)
	}
	if t, ok := resourceTypes[segment]; ok {
		return t
	}
	return strings.TrimSuffix(segment, "s")
}

// lastTwoSegments returns the last two segments of href's path, e.g.
// "transfers" and the id of a transfer's URL.
func lastTwoSegments(href string) (segment, id string) {
	path, ok := plainURLPath(href)
	if !ok {
		u, err := url.Parse(href)
		if err != nil {
			return "", ""
		}
		path = u.Path
	}
	p := strings.Trim(path, "/")
	i := strings.LastIndexByte(p, '/')
	if i < 0 {
		return "", ""
	}
	segment, id = p[:i], p[i+1:]
	if j := strings.LastIndexByte(segment, '/'); j >= 0 {
		segment = segment[j+1:]
	}
	return segment, id
}

// plainURLPath returns the path of an http(s) URL made only of characters
// that url.Parse takes as they are (letters, digits, -._~ and / in the path,
// a host name and an optional numeric port), without the allocations of
// url.Parse. Dwolla's links are all of this form; ok is false for anything
// else, which url.Parse then reads.
func plainURLPath(href string) (path string, ok bool) {
	rest, ok := strings.CutPrefix(href, "https://")
	if !ok {
		if rest, ok = strings.CutPrefix(href, "http://"); !ok {
			return "", false
		}
	}
	slash := strings.IndexByte(rest, '/')
	if slash < 0 {
		return "", false
	}
	port := false
	for i := 0; i < slash; i++ {
		switch c := rest[i]; {
		case c >= '0' && c <= '9':
		case port:
			return "", false
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '-', c == '.':
		case c == ':':
			port = true
		default:
			return "", false
		}
	}
	path = rest[slash:]
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-', c == '.', c == '_', c == '~', c == '/':
		default:
			return "", false
		}
	}
	return path, true
}

func isIDText(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9':
		case c == '-' || c == '_' || c == '.' || c == ':':
		default:
			return false
		}
	}
	return true
}
