package dwolla

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// EventRetention is how long Dwolla's Events API keeps events.
const EventRetention = 30 * 24 * time.Hour

// DefaultPageSize is Dwolla's page size when none is asked for.
const DefaultPageSize = 25

// APIEvent is one event from the Events API: the raw JSON exactly as Dwolla
// sent it (hooklens stores raw bodies) and its parsed form.
type APIEvent struct {
	// Raw is the event object's JSON, byte for byte.
	Raw json.RawMessage
	// Event is the parsed event; nil when Err is set.
	Event *Event
	// Err says why Raw did not parse (a *ParseError). One odd event does
	// not spoil its page.
	Err error
}

func newAPIEvent(raw json.RawMessage) APIEvent {
	ev, err := ParseEvent(raw)
	return APIEvent{Raw: raw, Event: ev, Err: err}
}

// EventsPage is one page of GET /events.
type EventsPage struct {
	Links  map[string]Link
	Total  int
	Events []APIEvent
}

type wireEventsPage struct {
	Links    map[string]Link `json:"_links"`
	Embedded struct {
		Events []json.RawMessage `json:"events"`
	} `json:"_embedded"`
	Total int `json:"total"`
}

// ListEvents gets one page of events, newest first. limit ≤ 0 takes
// Dwolla's default (25).
func (c *Client) ListEvents(ctx context.Context, limit, offset int) (*EventsPage, error) {
	q := url.Values{}
	if limit > 0 {
		q.Set("limit", strconv.Itoa(limit))
	}
	if offset > 0 {
		q.Set("offset", strconv.Itoa(offset))
	}
	path := "/events"
	if len(q) > 0 {
		path += "?" + q.Encode()
	}
	var w wireEventsPage
	if _, err := c.do(ctx, request{method: http.MethodGet, path: path}, &w); err != nil {
		return nil, err
	}
	page := &EventsPage{Links: w.Links, Total: w.Total, Events: make([]APIEvent, 0, len(w.Embedded.Events))}
	for _, raw := range w.Embedded.Events {
		page.Events = append(page.Events, newAPIEvent(raw))
	}
	return page, nil
}

// GetEvent gets one event by id. A missing event is an *APIError with
// NotFound() true.
func (c *Client) GetEvent(ctx context.Context, id string) (APIEvent, error) {
	var raw json.RawMessage
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/events/" + pathEscape(id)}, &raw); err != nil {
		return APIEvent{}, err
	}
	return newAPIEvent(raw), nil
}

// EventsSince iterates over the Events API newest first, page by page, and
// stops after the first event created before since (Dwolla keeps 30 days,
// so a zero since walks everything it has). An event that moves to a later
// page because new ones arrived while paging is yielded once only.
// Unparseable events are yielded with Err set and do not stop the walk;
// an API error is yielded once and ends it.
func (c *Client) EventsSince(ctx context.Context, since time.Time, pageSize int) iter.Seq2[APIEvent, error] {
	if pageSize <= 0 {
		pageSize = 200
	}
	return func(yield func(APIEvent, error) bool) {
		seen := map[string]bool{}
		for offset := 0; ; {
			page, err := c.ListEvents(ctx, pageSize, offset)
			if err != nil {
				yield(APIEvent{}, fmt.Errorf("listing events at offset %d: %w", offset, err))
				return
			}
			for _, ev := range page.Events {
				if ev.Event != nil {
					if seen[ev.Event.ID] {
						continue
					}
					seen[ev.Event.ID] = true
					if ev.Event.Created.Before(since) {
						return
					}
				}
				if !yield(ev, nil) {
					return
				}
			}
			offset += len(page.Events)
			if len(page.Events) == 0 || offset >= page.Total {
				return
			}
		}
	}
}
