package dwolla

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"
)

// parseEventStdlib is ParseEventAt as it was before the one-pass scanner:
// encoding/json into raw members, then each member decoded again. The
// differential tests hold the scanner to it. Kept verbatim apart from the
// links map, which Event no longer carries, and the created-time flag,
// which is new and computed the same way.
func parseEventStdlib(body []byte, received time.Time) (*Event, error) {
	if !utf8.Valid(body) {
		return nil, &ParseError{"body is not valid UTF-8"}
	}
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return nil, &ParseError{"body is not a JSON object"}
	}
	var w stdlibWireEvent
	if err := json.Unmarshal(trimmed, &w); err != nil {
		return nil, &ParseError{"invalid JSON: " + jsonErrorText(err)}
	}
	ev := &Event{}
	var err error
	if ev.ID, err = stdlibRequiredString(w.ID, "id"); err != nil {
		return nil, err
	}
	if len(ev.ID) > MaxEventIDLength || !isIDText(ev.ID) {
		return nil, &ParseError{fmt.Sprintf("id must be 1–%d letters, digits or -_.:", MaxEventIDLength)}
	}
	if ev.Topic, err = stdlibRequiredString(w.Topic, "topic"); err != nil {
		return nil, err
	}
	if len(ev.Topic) > 128 || !isIDText(ev.Topic) {
		return nil, &ParseError{"topic must be at most 128 letters, digits or -_.:"}
	}
	created, field := w.Created, "created"
	if stdlibIsAbsent(created) {
		created, field = w.Timestamp, "timestamp"
	}
	if stdlibIsAbsent(created) {
		return nil, &ParseError{"missing created (and timestamp)"}
	}
	s, err := stdlibRequiredString(created, field)
	if err != nil {
		return nil, err
	}
	if ev.Created, err = time.Parse(time.RFC3339Nano, s); err != nil {
		return nil, &ParseError{field + " is not an ISO-8601 time"}
	}
	ev.Created = ev.Created.UTC()
	if ev.ResourceID, err = stdlibOptionalString(w.ResourceID, "resourceId"); err != nil {
		return nil, err
	}
	if ev.CorrelationID, err = stdlibOptionalString(w.CorrelationID, "correlationId"); err != nil {
		return nil, err
	}
	var links map[string]Link
	if !stdlibIsAbsent(w.Links) {
		if err := json.Unmarshal(w.Links, &links); err != nil {
			return nil, &ParseError{"_links is not an object of links"}
		}
	}
	stdlibDerive(ev, links)
	if reason := CheckCreated(ev.Created, received); reason != "" {
		ev.CreatedImplausible, ev.CreatedImplausibleReason = true, reason
	}
	return ev, nil
}

type stdlibWireEvent struct {
	ID            json.RawMessage `json:"id"`
	Topic         json.RawMessage `json:"topic"`
	Created       json.RawMessage `json:"created"`
	Timestamp     json.RawMessage `json:"timestamp"`
	ResourceID    json.RawMessage `json:"resourceId"`
	CorrelationID json.RawMessage `json:"correlationId"`
	Links         json.RawMessage `json:"_links"`
}

func stdlibDerive(ev *Event, links map[string]Link) {
	if res, ok := links["resource"]; ok {
		segment, id := stdlibLastTwoSegments(res.Href)
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
	if c, ok := links["customer"]; ok {
		_, ev.CustomerID = stdlibLastTwoSegments(c.Href)
	}
	if a, ok := links["account"]; ok {
		_, ev.AccountID = stdlibLastTwoSegments(a.Href)
	}
	ev.ResourceID = strings.ToLower(ev.ResourceID)
	ev.CustomerID = strings.ToLower(ev.CustomerID)
	ev.AccountID = strings.ToLower(ev.AccountID)
}

func stdlibLastTwoSegments(href string) (segment, id string) {
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

func stdlibIsAbsent(raw json.RawMessage) bool {
	return len(raw) == 0 || string(raw) == "null"
}

func stdlibRequiredString(raw json.RawMessage, name string) (string, error) {
	if stdlibIsAbsent(raw) {
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

func stdlibOptionalString(raw json.RawMessage, name string) (string, error) {
	if stdlibIsAbsent(raw) {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", &ParseError{name + " must be a string"}
	}
	return strings.TrimSpace(s), nil
}
