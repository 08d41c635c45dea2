package dwolla

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// MaxEventIDLength bounds the event id accepted from a body; Dwolla's are UUIDs.
const MaxEventIDLength = 128

// Link is a HAL link as Dwolla writes them.
type Link struct {
	Href         string `json:"href"`
	Type         string `json:"type,omitempty"`
	ResourceType string `json:"resource-type,omitempty"`
}

// Event is a Dwolla event as delivered by a webhook or listed by the Events API.
type Event struct {
	ID            string          `json:"id"`
	Topic         string          `json:"topic"`
	Created       time.Time       `json:"-"`
	ResourceID    string          `json:"resourceId,omitempty"`
	ResourceType  string          `json:"-"`
	CustomerID    string          `json:"-"`
	AccountID     string          `json:"-"`
	CorrelationID string          `json:"correlationId,omitempty"`
	Links         map[string]Link `json:"_links,omitempty"`
}

// ParseError says why a body is not a usable Dwolla event.
type ParseError struct{ Reason string }

func (e *ParseError) Error() string { return "malformed event: " + e.Reason }

// IsParseError reports whether err came from ParseEvent.
func IsParseError(err error) bool {
	var pe *ParseError
	return errors.As(err, &pe)
}

type wireEvent struct {
	ID            json.RawMessage `json:"id"`
	Topic         json.RawMessage `json:"topic"`
	Created       json.RawMessage `json:"created"`
	Timestamp     json.RawMessage `json:"timestamp"`
	ResourceID    json.RawMessage `json:"resourceId"`
	CorrelationID json.RawMessage `json:"correlationId"`
	Links         json.RawMessage `json:"_links"`
}

// ParseEvent decodes a webhook body. It requires a JSON object with a string
// id, a string topic and a creation time in created or, failing that,
// timestamp (older deliveries carry only timestamp). Everything else is
// optional and derived where Dwolla leaves it implicit: the resource id and
// type from _links.resource, the customer from _links.customer. Ids are
// lower-cased because old transfer ids appear upper-case in some events.
func ParseEvent(body []byte) (*Event, error) {
	if !utf8.Valid(body) {
		return nil, &ParseError{"body is not valid UTF-8"}
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, &ParseError{"body is not a JSON object"}
	}
	var w wireEvent
	if err := json.Unmarshal(trimmed, &w); err != nil {
		return nil, &ParseError{"invalid JSON: " + jsonErrorText(err)}
	}
	ev := &Event{}
	var err error
	if ev.ID, err = requiredString(w.ID, "id"); err != nil {
		return nil, err
	}
	if len(ev.ID) > MaxEventIDLength || !isIDText(ev.ID) {
		return nil, &ParseError{fmt.Sprintf("id must be 1–%d letters, digits or -_.:", MaxEventIDLength)}
	}
	if ev.Topic, err = requiredString(w.Topic, "topic"); err != nil {
		return nil, err
	}
	if len(ev.Topic) > 128 || !isIDText(ev.Topic) {
		return nil, &ParseError{"topic must be at most 128 letters, digits or -_.:"}
	}
	created, field := w.Created, "created"
	if isAbsent(created) {
		created, field = w.Timestamp, "timestamp"
	}
	if isAbsent(created) {
		return nil, &ParseError{"missing created (and timestamp)"}
	}
	s, err := requiredString(created, field)
	if err != nil {
		return nil, err
	}
	if ev.Created, err = time.Parse(time.RFC3339Nano, s); err != nil {
		return nil, &ParseError{field + " is not an ISO-8601 time"}
	}
	ev.Created = ev.Created.UTC()
	if ev.ResourceID, err = optionalString(w.ResourceID, "resourceId"); err != nil {
		return nil, err
	}
	if ev.CorrelationID, err = optionalString(w.CorrelationID, "correlationId"); err != nil {
		return nil, err
	}
	if !isAbsent(w.Links) {
		if err := json.Unmarshal(w.Links, &ev.Links); err != nil {
			return nil, &ParseError{"_links is not an object of links"}
		}
	}
	ev.derive()
	return ev, nil
}

func (ev *Event) derive() {
	if res, ok := ev.Links["resource"]; ok {
		segment, id := lastTwoSegments(res.Href)
		if ev.ResourceID == "" {
			ev.ResourceID = id
		}
		ev.ResourceType = resourceTypeOf(res.ResourceType, segment)
	}
	if ev.ResourceType == "" {
		if t, ok := LookupTopic(ev.Topic); ok {
			ev.ResourceType = t.Resource
		}
	}
	if c, ok := ev.Links["customer"]; ok {
		_, ev.CustomerID = lastTwoSegments(c.Href)
	}
	if a, ok := ev.Links["account"]; ok {
		_, ev.AccountID = lastTwoSegments(a.Href)
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

func lastTwoSegments(href string) (segment, id string) {
	u, err := url.Parse(href)
	if err != nil {
		return "", ""
	}
	parts := strings.Split(strings.Trim(u.Path, "/"), "/")
	if len(parts) < 2 {
		return "", ""
	}
	return parts[len(parts)-2], parts[len(parts)-1]
}

func isAbsent(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

func requiredString(raw json.RawMessage, name string) (string, error) {
	if isAbsent(raw) {
		return "", &ParseError{"missing " + name}
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", &ParseError{name + " must be a string"}
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return "", &ParseError{name + " is empty"}
	}
	return s, nil
}

func optionalString(raw json.RawMessage, name string) (string, error) {
	if isAbsent(raw) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", &ParseError{name + " must be a string"}
	}
	return strings.TrimSpace(s), nil
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

// jsonErrorText shortens encoding/json errors to something safe to show: it
// never includes the body.
func jsonErrorText(err error) string {
	var syn *json.SyntaxError
	if errors.As(err, &syn) {
		return fmt.Sprintf("syntax error at byte %d", syn.Offset)
	}
	var typ *json.UnmarshalTypeError
	if errors.As(err, &typ) {
		return fmt.Sprintf("unexpected %s for %s", typ.Value, typ.Field)
	}
	return "cannot decode"
}
