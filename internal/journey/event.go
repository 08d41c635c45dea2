package journey

import (
	"time"

	"github.com/hooklens/hooklens/internal/dwolla"
)

// Event is what a journey needs to know about one Dwolla event. The pipeline
// builds it from the stored event row or, in tests, with FromDwolla.
type Event struct {
	// ID is Dwolla's event id; the same id delivered twice is one event.
	ID string `json:"id"`
	// Topic is the topic in the event body (not the X-Dwolla-Topic header).
	Topic string `json:"topic"`
	// Created is Dwolla's created time, the only order journeys trust.
	Created time.Time `json:"created"`
	// ResourceID is the id of the thing that changed.
	ResourceID string `json:"resourceId,omitempty"`
	// ResourceType is its kind: transfer, customer, funding-source, document…
	ResourceType string `json:"resourceType,omitempty"`
	// CustomerID is the customer the event belongs to, when it has one.
	CustomerID string `json:"customerId,omitempty"`
}

// FromDwolla converts a parsed webhook body. Ids arrive lower-cased from
// dwolla.ParseEvent, which is what makes keys from different deliveries
// compare equal.
func FromDwolla(ev *dwolla.Event) Event {
	return Event{
		ID:           ev.ID,
		Topic:        ev.Topic,
		Created:      ev.Created,
		ResourceID:   ev.ResourceID,
		ResourceType: ev.ResourceType,
		CustomerID:   ev.CustomerID,
	}
}

// resourceType is the event's resource type, falling back to the catalogue's
// for the topic when the body did not say (older bodies lack resource-type
// and some hrefs are unusual).
func (e Event) resourceType() string {
	if e.ResourceType != "" {
		return e.ResourceType
	}
	if t, ok := dwolla.LookupTopic(e.Topic); ok {
		return t.Resource
	}
	return ""
}

// correlationKey returns the key c groups e by, and false when e cannot be
// grouped (no id of that kind, or a resource type c does not admit).
func (c Correlation) correlationKey(e Event) (string, bool) {
	switch c.By {
	case ByCustomer:
		if e.CustomerID == "" {
			return "", false
		}
		if len(c.ResourceTypes) > 0 && !contains(c.ResourceTypes, e.resourceType()) {
			return "", false
		}
		return e.CustomerID, true
	case ByResource:
		if e.ResourceID == "" {
			return "", false
		}
		if len(c.ResourceTypes) > 0 && !contains(c.ResourceTypes, e.resourceType()) {
			return "", false
		}
		return e.ResourceID, true
	}
	return "", false
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
