package fakedwolla

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/hooklens/hooklens/internal/dwolla"
)

// TimeFormat is how Dwolla writes created and timestamp: UTC, milliseconds.
const TimeFormat = "2006-01-02T15:04:05.000Z"

// Ref names one HAL link of an event: Rel is the link's name (resource or
// customer), Kind the URL collection (customers, transfers,
// funding-sources, documents, beneficial-owners, mass-payments, …).
type Ref struct {
	Rel  string
	Kind string
	ID   string
}

// Resource is the event's _links.resource: /{kind}/{id}.
func Resource(kind, id string) Ref { return Ref{Rel: "resource", Kind: kind, ID: id} }

// Customer is the event's _links.customer; events of the master account
// have none.
func Customer(id string) Ref { return Ref{Rel: "customer", Kind: "customers", ID: id} }

// EventSpec is everything an event body says.
type EventSpec struct {
	// ID is the event id (UUID).
	ID    string
	Topic string
	// Resource is what changed; its ID is the event's resourceId.
	Resource Ref
	// CustomerID adds _links.customer when set.
	CustomerID string
	// CorrelationID is set on transfer events created with one.
	CorrelationID string
	// Created is when Dwolla created the event.
	Created time.Time
	// NoTimestamp leaves out the timestamp field that real webhook bodies
	// carry next to created (as in the 2022 v12 capture).
	NoTimestamp bool
}

// link is a HAL link with the optional fields in Dwolla's order.
type link struct {
	Href string `json:"href"`
}

type eventLinks struct {
	Self     link  `json:"self"`
	Account  link  `json:"account"`
	Resource link  `json:"resource"`
	Customer *link `json:"customer,omitempty"`
}

// wireEvent lays the fields out in the order of Dwolla's captured bodies.
type wireEvent struct {
	ID            string     `json:"id"`
	ResourceID    string     `json:"resourceId"`
	CorrelationID string     `json:"correlationId,omitempty"`
	Topic         string     `json:"topic"`
	Timestamp     string     `json:"timestamp,omitempty"`
	Links         eventLinks `json:"_links"`
	Created       string     `json:"created"`
}

// EventBody renders spec as Dwolla writes a webhook body, with links under
// base (an API root such as https://api-sandbox.dwolla.com) for account.
func EventBody(base, account string, spec EventSpec) ([]byte, error) {
	if spec.ID == "" || spec.Topic == "" || spec.Resource.ID == "" || spec.Resource.Kind == "" {
		return nil, fmt.Errorf("an event needs an id, a topic and a resource")
	}
	if spec.Created.IsZero() {
		return nil, fmt.Errorf("event %s has no creation time", spec.ID)
	}
	base = strings.TrimRight(base, "/")
	created := spec.Created.UTC().Format(TimeFormat)
	w := wireEvent{
		ID: spec.ID, ResourceID: spec.Resource.ID, CorrelationID: spec.CorrelationID, Topic: spec.Topic,
		Links: eventLinks{
			Self:     link{base + "/events/" + spec.ID},
			Account:  link{base + "/accounts/" + account},
			Resource: link{base + "/" + spec.Resource.Kind + "/" + spec.Resource.ID},
		},
		Created: created,
	}
	if !spec.NoTimestamp {
		w.Timestamp = created
	}
	if spec.CustomerID != "" {
		w.Links.Customer = &link{base + "/customers/" + spec.CustomerID}
	}
	body, err := json.Marshal(w)
	if err != nil {
		return nil, fmt.Errorf("encoding event %s: %w", spec.ID, err)
	}
	return body, nil
}

// Event is an event the fake holds: the exact body and its parsed form.
type Event struct {
	dwolla.Event
	Body json.RawMessage
	// seq orders events created in the same millisecond.
	seq int64
}
