// Package customer gathers everything hooklens knows about one Dwolla
// customer — the enriched customer (status, type), its funding sources,
// its transfers with amounts and outcomes, its money figures, its journeys,
// its raw event timeline and the open findings about it — for the customer
// view (/customers/:id) and GET /api/customers/{id}. It only reads.
package customer

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strings"
	"time"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/ent/dwollaresource"
	"github.com/hooklens/hooklens/ent/journeyinstance"
	"github.com/hooklens/hooklens/ent/reconciliationfinding"
	"github.com/hooklens/hooklens/ent/webhookevent"
	"github.com/hooklens/hooklens/internal/money"
	"github.com/hooklens/hooklens/internal/web"
)

// Limits of the lists in a profile (newest first).
const (
	maxTransfers = 200
	maxEvents    = 200
	maxJourneys  = 100
)

// Profile is one customer's view.
type Profile struct {
	ID string `json:"id"`
	// Known says whether any event or snapshot names the customer.
	Known bool `json:"known"`
	// Enrichment is the snapshot's state (pending, fetched, gone, failed;
	// "" without one).
	Enrichment     string          `json:"enrichment"`
	Status         string          `json:"status"`
	Type           string          `json:"type"`
	DisplayName    string          `json:"displayName,omitempty"`
	FundingSources []FundingSource `json:"fundingSources"`
	Transfers      []Transfer      `json:"transfers"`
	Money          money.View      `json:"money"`
	Journeys       []Journey       `json:"journeys"`
	Events         []Event         `json:"events"`
	Findings       []Finding       `json:"findings"`
}

// FundingSource is a bank or balance of the customer.
type FundingSource struct {
	ID              string `json:"id"`
	Type            string `json:"type"`
	BankAccountType string `json:"bankAccountType,omitempty"`
	Status          string `json:"status"`
	Removed         bool   `json:"removed"`
	DisplayName     string `json:"displayName,omitempty"`
}

// Transfer is a transfer the customer sent or received.
type Transfer struct {
	ID                 string     `json:"id"`
	Direction          string     `json:"direction"` // sent, received, own (between its bank and balance)
	Status             string     `json:"status"`
	Amount             string     `json:"amount"`
	Currency           string     `json:"currency"`
	Created            *time.Time `json:"created,omitempty"`
	CorrelationID      string     `json:"correlationId,omitempty"`
	FailureCode        string     `json:"failureCode,omitempty"`
	FailureDescription string     `json:"failureDescription,omitempty"`
	LateReturn         bool       `json:"lateReturn"`
	Counterparty       string     `json:"counterparty"` // a customer id, or "" for the master account
}

// Journey is one journey instance of the customer.
type Journey struct {
	ID         int        `json:"id"`
	Definition string     `json:"definition"`
	Status     string     `json:"status"`
	Step       string     `json:"step"`
	StartedAt  time.Time  `json:"startedAt"`
	EndedAt    *time.Time `json:"endedAt,omitempty"`
}

// Event is one event of the timeline.
type Event struct {
	ID         int       `json:"id"`
	EventID    string    `json:"eventId"`
	Topic      string    `json:"topic"`
	ResourceID string    `json:"resourceId"`
	CreatedAt  time.Time `json:"createdAt"`
}

// Finding is an open reconciliation finding about the customer's
// resources.
type Finding struct {
	ID         int    `json:"id"`
	Kind       string `json:"kind"`
	Subject    string `json:"subject"`
	ResourceID string `json:"resourceId"`
}

var idRe = regexp.MustCompile(`^[0-9a-fA-F-]{8,64}$`)

// ErrBadID is returned for an id that is not a Dwolla id.
var ErrBadID = errors.New("a customer id is a UUID")

// Load builds the profile of customer id; moneyFrom..now is the window of
// its money figures.
func Load(ctx context.Context, db *ent.Client, id string, now time.Time, window time.Duration) (*Profile, error) {
	id = strings.ToLower(strings.TrimSpace(id))
	if !idRe.MatchString(id) {
		return nil, ErrBadID
	}
	p := &Profile{ID: id, FundingSources: []FundingSource{}, Transfers: []Transfer{}, Journeys: []Journey{}, Events: []Event{}, Findings: []Finding{}}
	c, err := db.DwollaResource.Query().Where(dwollaresource.KindEQ(dwollaresource.KindCustomer), dwollaresource.ResourceID(id)).Only(ctx)
	switch {
	case err == nil:
		p.Known, p.Enrichment, p.Status, p.Type, p.DisplayName = true, string(c.State), c.Status, c.Type, c.DisplayName
	case !ent.IsNotFound(err):
		return nil, fmt.Errorf("reading the customer: %w", err)
	}
	fss, err := db.DwollaResource.Query().Where(dwollaresource.KindEQ(dwollaresource.KindFundingSource), dwollaresource.CustomerID(id)).
		Order(ent.Asc(dwollaresource.FieldDwollaCreatedAt)).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading funding sources: %w", err)
	}
	for _, fs := range fss {
		p.FundingSources = append(p.FundingSources, FundingSource{ID: fs.ResourceID, Type: fs.Type, BankAccountType: fs.BankAccountType,
			Status: fs.Status, Removed: fs.Removed, DisplayName: fs.DisplayName})
	}
	ts, err := db.DwollaResource.Query().Where(dwollaresource.KindEQ(dwollaresource.KindTransfer),
		dwollaresource.Or(dwollaresource.SourceCustomerID(id), dwollaresource.DestinationCustomerID(id))).
		Order(ent.Desc(dwollaresource.FieldDwollaCreatedAt), ent.Desc(dwollaresource.FieldID)).Limit(maxTransfers).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading transfers: %w", err)
	}
	for _, t := range ts {
		tr := Transfer{ID: t.ResourceID, Status: t.Status, Currency: t.Currency, Created: t.DwollaCreatedAt, CorrelationID: t.CorrelationID,
			FailureCode: t.FailureCode, FailureDescription: t.FailureDescription, LateReturn: t.LateReturn}
		if t.AmountCents != nil {
			tr.Amount = money.Dollars(*t.AmountCents)
		}
		switch {
		case t.SourceCustomerID == id && t.DestinationCustomerID == id:
			tr.Direction = "own"
		case t.SourceCustomerID == id:
			tr.Direction, tr.Counterparty = "sent", t.DestinationCustomerID
		default:
			tr.Direction, tr.Counterparty = "received", t.SourceCustomerID
		}
		p.Transfers = append(p.Transfers, tr)
	}
	f, err := money.Compute(ctx, db, money.Query{From: now.Add(-window), To: now, Bucket: window / 30, CustomerID: id})
	if err != nil {
		return nil, err
	}
	p.Money = f.View()
	js, err := db.JourneyInstance.Query().Where(journeyinstance.CustomerID(id)).
		Order(ent.Desc(journeyinstance.FieldStartedAt)).Limit(maxJourneys).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading journeys: %w", err)
	}
	for _, j := range js {
		step := j.CurrentStepName
		if step == "" {
			step = j.CurrentStep
		}
		p.Journeys = append(p.Journeys, Journey{ID: j.ID, Definition: j.DefinitionKey, Status: string(j.Status), Step: step,
			StartedAt: j.StartedAt, EndedAt: j.EndedAt})
	}
	var evs []struct {
		ID         int       `json:"id"`
		EventID    string    `json:"event_id"`
		Topic      string    `json:"topic"`
		ResourceID string    `json:"resource_id"`
		CreatedAt  time.Time `json:"created_at"`
	}
	if err := db.WebhookEvent.Query().Where(webhookevent.CustomerID(id)).
		Order(ent.Desc(webhookevent.FieldCreatedAt), ent.Desc(webhookevent.FieldID)).Limit(maxEvents).
		Select(webhookevent.FieldID, webhookevent.FieldEventID, webhookevent.FieldTopic, webhookevent.FieldResourceID, webhookevent.FieldCreatedAt).
		Scan(ctx, &evs); err != nil {
		return nil, fmt.Errorf("reading events: %w", err)
	}
	resources := map[string]bool{id: true}
	for _, e := range evs {
		p.Events = append(p.Events, Event{ID: e.ID, EventID: e.EventID, Topic: e.Topic, ResourceID: e.ResourceID, CreatedAt: e.CreatedAt})
		resources[e.ResourceID] = true
	}
	p.Known = p.Known || len(evs) > 0
	ids := make([]string, 0, len(resources))
	for r := range resources {
		ids = append(ids, r)
	}
	fs, err := db.ReconciliationFinding.Query().Where(reconciliationfinding.StatusEQ(reconciliationfinding.StatusOpen),
		reconciliationfinding.ResourceIDIn(ids...)).Limit(100).All(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading findings: %w", err)
	}
	for _, f := range fs {
		p.Findings = append(p.Findings, Finding{ID: f.ID, Kind: string(f.Kind), Subject: f.Subject, ResourceID: f.ResourceID})
	}
	return p, nil
}

// Handler serves GET /api/customers/{id} (mount behind authentication).
type Handler struct {
	db  *ent.Client
	log *slog.Logger
}

// NewHandler returns the customer REST handler.
func NewHandler(db *ent.Client, log *slog.Logger) *Handler { return &Handler{db: db, log: log} }

// ServeHTTP answers GET /api/customers/{id}.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		web.Error(w, r, http.StatusMethodNotAllowed, "method_not_allowed", "use GET")
		return
	}
	id := strings.TrimPrefix(r.URL.Path, "/api/customers/")
	p, err := Load(r.Context(), h.db, id, time.Now().UTC(), 30*24*time.Hour)
	switch {
	case errors.Is(err, ErrBadID):
		web.Error(w, r, http.StatusBadRequest, "bad_request", err.Error())
	case err != nil:
		h.log.Error("loading a customer", "error", err)
		web.Error(w, r, http.StatusInternalServerError, "internal", "could not load the customer")
	case !p.Known:
		web.Error(w, r, http.StatusNotFound, "not_found", "no event or snapshot names this customer")
	default:
		web.JSON(w, http.StatusOK, p)
	}
}
