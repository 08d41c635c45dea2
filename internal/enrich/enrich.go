// Package enrich fetches the Dwolla resources that events name — the
// transfer (amount, status, parties, ACH return), the customer (type,
// status) and the funding source (type, bank account type, status) — and
// keeps a compact snapshot of each in the dwolla_resources table, so
// hooklens can say how much money moved and why it failed.
//
// It reads the events table behind a cursor and never touches ingest or
// the pipeline: a slow or dead Dwolla API delays snapshots, nothing else.
// Requests go through the Dwolla client (retries on 429 and 5xx with
// backoff, the circuit breaker), under a request-rate budget; a resource
// is fetched again only when a newer event names it; a 404 is recorded and
// never retried. It must never store names, emails or account numbers
// unless Options.PersonalData asks for display names.
package enrich

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/ent/dwollaresource"
	"github.com/hooklens/hooklens/ent/enrichmentcursor"
	"github.com/hooklens/hooklens/ent/webhookevent"
	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/jobs"
)

// Cursor names.
const (
	cursorLive    = "live"
	cursorHistory = "history"
)

// JobKind is the jobs-table kind of the history enrichment.
const JobKind = "enrich_history"

// API is the part of the Dwolla client enrichment uses.
type API interface {
	GetTransfer(ctx context.Context, id string) (*dwolla.Transfer, error)
	GetTransferFailure(ctx context.Context, id string) (*dwolla.TransferFailure, error)
	GetCustomer(ctx context.Context, id string) (*dwolla.Customer, error)
	GetFundingSource(ctx context.Context, id string) (*dwolla.FundingSource, error)
}

// Options tune an Enricher. Zero values take the defaults.
type Options struct {
	// Rate is the request budget, requests per second (default 5).
	Rate float64
	// BatchSize is how many events one scan reads (default 500).
	BatchSize int
	// MaxAttempts is how many failed fetches of one resource are allowed
	// before it is marked failed (default 6); a newer event resets it.
	MaxAttempts int
	// RetryBase is the wait after the first failed fetch, doubled after
	// each (default 30s, at most 1h).
	RetryBase time.Duration
	// PersonalData keeps a display name (customer or bank name).
	PersonalData bool
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Sleep waits for the rate budget (default: a timer, ending with ctx).
	Sleep func(ctx context.Context, d time.Duration) error
}

// Enricher keeps the snapshots.
type Enricher struct {
	db   *ent.Client
	api  API
	log  *slog.Logger
	opts Options

	mu   sync.Mutex
	next time.Time // the rate budget's next free slot
}

// New returns an Enricher reading events from db and resources from api.
func New(db *ent.Client, api API, log *slog.Logger, opts Options) (*Enricher, error) {
	if api == nil {
		return nil, errors.New("enrichment needs the Dwolla API client")
	}
	if opts.Rate < 0 || opts.BatchSize < 0 || opts.MaxAttempts < 0 || opts.RetryBase < 0 {
		return nil, errors.New("enrichment options must not be negative")
	}
	if opts.Rate == 0 {
		opts.Rate = 5
	}
	if opts.BatchSize == 0 {
		opts.BatchSize = 500
	}
	if opts.MaxAttempts == 0 {
		opts.MaxAttempts = 6
	}
	if opts.RetryBase == 0 {
		opts.RetryBase = 30 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Sleep == nil {
		opts.Sleep = sleep
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Enricher{db: db, api: api, log: log, opts: opts}, nil
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// wait takes one request from the budget, sleeping for it.
func (e *Enricher) wait(ctx context.Context) error {
	interval := time.Duration(float64(time.Second) / e.opts.Rate)
	e.mu.Lock()
	now := e.opts.Now()
	at := e.next
	if at.Before(now) {
		at = now
	}
	e.next = at.Add(interval)
	e.mu.Unlock()
	return e.opts.Sleep(ctx, at.Sub(now))
}

// kindOf maps an event's resource type (dwolla.Event.ResourceType) to a
// snapshot kind.
func kindOf(resourceType string) (dwollaresource.Kind, bool) {
	switch resourceType {
	case "transfer":
		return dwollaresource.KindTransfer, true
	case "customer":
		return dwollaresource.KindCustomer, true
	case "funding-source":
		return dwollaresource.KindFundingSource, true
	}
	return "", false
}

// want is one resource an event names, and when the event happened.
type want struct {
	kind dwollaresource.Kind
	id   string
	at   time.Time
}

// start makes the cursors on first use: live starts after the newest
// event, and history walks everything before it.
func (e *Enricher) start(ctx context.Context) (*ent.EnrichmentCursor, error) {
	cur, err := e.db.EnrichmentCursor.Query().Where(enrichmentcursor.Name(cursorLive)).Only(ctx)
	if err == nil {
		return cur, nil
	}
	if !ent.IsNotFound(err) {
		return nil, fmt.Errorf("reading the enrichment cursor: %w", err)
	}
	last, err := e.db.WebhookEvent.Query().Aggregate(ent.Max(webhookevent.FieldID)).Int(ctx)
	if err != nil {
		last = 0 // no events yet
	}
	if err := e.db.EnrichmentCursor.Create().SetName(cursorHistory).SetLastEventID(0).SetUntilEventID(last).
		OnConflictColumns(enrichmentcursor.FieldName).DoNothing().Exec(ctx); err != nil && !isNoRows(err) {
		return nil, fmt.Errorf("creating the history cursor: %w", err)
	}
	if err := e.db.EnrichmentCursor.Create().SetName(cursorLive).SetLastEventID(last).
		OnConflictColumns(enrichmentcursor.FieldName).DoNothing().Exec(ctx); err != nil && !isNoRows(err) {
		return nil, fmt.Errorf("creating the enrichment cursor: %w", err)
	}
	return e.db.EnrichmentCursor.Query().Where(enrichmentcursor.Name(cursorLive)).Only(ctx)
}

// isNoRows is what an upsert that did nothing reports on some dialects.
func isNoRows(err error) bool { return err != nil && strings.Contains(err.Error(), "no rows") }

// scan reads the next batch of events after the cursor (up to until when
// positive), records the resources they name and moves the cursor. It
// returns how many events it read.
func (e *Enricher) scan(ctx context.Context, cur *ent.EnrichmentCursor, until int) (int, error) {
	q := e.db.WebhookEvent.Query().Where(webhookevent.IDGT(cur.LastEventID))
	if until > 0 {
		q = q.Where(webhookevent.IDLTE(until))
	}
	var rows []struct {
		ID           int       `json:"id"`
		ResourceType string    `json:"resource_type"`
		ResourceID   string    `json:"resource_id"`
		CustomerID   string    `json:"customer_id"`
		CreatedAt    time.Time `json:"created_at"`
	}
	err := q.Order(ent.Asc(webhookevent.FieldID)).Limit(e.opts.BatchSize).
		Select(webhookevent.FieldID, webhookevent.FieldResourceType, webhookevent.FieldResourceID,
			webhookevent.FieldCustomerID, webhookevent.FieldCreatedAt).Scan(ctx, &rows)
	if err != nil {
		return 0, fmt.Errorf("reading events to enrich: %w", err)
	}
	if len(rows) == 0 {
		return 0, nil
	}
	var wants []want
	for _, r := range rows {
		if k, ok := kindOf(r.ResourceType); ok && r.ResourceID != "" {
			wants = append(wants, want{k, strings.ToLower(r.ResourceID), r.CreatedAt})
		}
		if r.CustomerID != "" {
			wants = append(wants, want{dwollaresource.KindCustomer, strings.ToLower(r.CustomerID), r.CreatedAt})
		}
	}
	if err := e.record(ctx, wants); err != nil {
		return 0, err
	}
	last := rows[len(rows)-1].ID
	if err := e.db.EnrichmentCursor.UpdateOneID(cur.ID).SetLastEventID(last).Exec(ctx); err != nil {
		return 0, fmt.Errorf("moving the enrichment cursor: %w", err)
	}
	cur.LastEventID = last
	return len(rows), nil
}

// record notes that events named these resources: new ones are queued, and
// a snapshot older than the event is due again (a 404 stays gone).
func (e *Enricher) record(ctx context.Context, wants []want) error {
	latest := map[want]time.Time{}
	for _, w := range wants {
		k := want{kind: w.kind, id: w.id}
		if w.at.After(latest[k]) {
			latest[k] = w.at
		}
	}
	now := e.opts.Now()
	for k, at := range latest {
		existing, err := e.db.DwollaResource.Query().
			Where(dwollaresource.KindEQ(k.kind), dwollaresource.ResourceID(k.id)).Only(ctx)
		switch {
		case ent.IsNotFound(err):
			err = e.db.DwollaResource.Create().SetKind(k.kind).SetResourceID(k.id).SetWantedAt(at).SetNextAttemptAt(now).
				OnConflictColumns(dwollaresource.FieldKind, dwollaresource.FieldResourceID).DoNothing().Exec(ctx)
			if err != nil && !isNoRows(err) {
				return fmt.Errorf("queueing %s %s: %w", k.kind, k.id, err)
			}
			continue
		case err != nil:
			return fmt.Errorf("reading the snapshot of %s %s: %w", k.kind, k.id, err)
		}
		if !at.After(existing.WantedAt) || existing.State == dwollaresource.StateGone {
			continue
		}
		u := existing.Update().SetWantedAt(at)
		if existing.State != dwollaresource.StatePending {
			// A newer event: the snapshot may be out of date.
			u = u.SetState(dwollaresource.StatePending).SetNextAttemptAt(now).SetAttempts(0)
		}
		if err := u.Exec(ctx); err != nil {
			return fmt.Errorf("marking %s %s stale: %w", k.kind, k.id, err)
		}
	}
	return nil
}

// errBreakerOpen stops a round while Dwolla's circuit is open.
var errBreakerOpen = errors.New("the Dwolla circuit breaker is open")

// FetchDue fetches up to max due resources within the rate budget and
// returns how many it fetched (404s included). It stops early, without
// counting an attempt, while the circuit breaker is open.
func (e *Enricher) FetchDue(ctx context.Context, max int) (int, error) {
	due, err := e.db.DwollaResource.Query().
		Where(dwollaresource.StateEQ(dwollaresource.StatePending), dwollaresource.NextAttemptAtLTE(e.opts.Now())).
		Order(ent.Asc(dwollaresource.FieldNextAttemptAt), ent.Asc(dwollaresource.FieldID)).
		Limit(max).All(ctx)
	if err != nil {
		return 0, fmt.Errorf("reading due resources: %w", err)
	}
	n := 0
	for _, r := range due {
		if err := e.wait(ctx); err != nil {
			return n, err
		}
		err := e.fetch(ctx, r)
		if errors.Is(err, errBreakerOpen) {
			e.log.Info("enrichment waits: the Dwolla circuit breaker is open")
			return n, nil
		}
		if err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// fetch reads one resource and stores its snapshot, or records the
// failure.
func (e *Enricher) fetch(ctx context.Context, r *ent.DwollaResource) error {
	u := r.Update()
	var err error
	switch r.Kind {
	case dwollaresource.KindTransfer:
		err = e.fetchTransfer(ctx, r, u)
	case dwollaresource.KindCustomer:
		var c *dwolla.Customer
		if c, err = e.api.GetCustomer(ctx, r.ResourceID); err == nil {
			u.SetStatus(c.Status).SetType(c.Type)
			if !c.Created.IsZero() {
				u.SetDwollaCreatedAt(c.Created)
			}
			if e.opts.PersonalData {
				name := c.BusinessName
				if name == "" {
					name = strings.TrimSpace(c.FirstName + " " + c.LastName)
				}
				u.SetDisplayName(name)
			}
		}
	case dwollaresource.KindFundingSource:
		var fs *dwolla.FundingSource
		if fs, err = e.api.GetFundingSource(ctx, r.ResourceID); err == nil {
			u.SetStatus(fs.Status).SetType(fs.Type).SetBankAccountType(fs.BankAccountType).SetRemoved(fs.Removed).
				SetCustomerID(linkID(fs.Links["customer"], "customers"))
			if !fs.Created.IsZero() {
				u.SetDwollaCreatedAt(fs.Created)
			}
			if e.opts.PersonalData {
				u.SetDisplayName(fs.Name)
			}
		}
	}
	now := e.opts.Now()
	var apiErr *dwolla.APIError
	switch {
	case err == nil:
		u.SetState(dwollaresource.StateFetched).SetFetchedAt(now).SetAttempts(0).ClearLastError()
	case errors.Is(err, dwolla.ErrCircuitOpen):
		return errBreakerOpen
	case ctx.Err() != nil:
		return ctx.Err()
	case errors.As(err, &apiErr) && apiErr.NotFound():
		// The resource no longer exists (or never did here): recorded,
		// not retried.
		u = r.Update().SetState(dwollaresource.StateGone).SetFetchedAt(now).SetLastError("404 Not Found")
	default:
		attempts := r.Attempts + 1
		u = r.Update().SetAttempts(attempts).SetLastError(truncate(err.Error(), 500))
		if attempts >= e.opts.MaxAttempts {
			u.SetState(dwollaresource.StateFailed)
		} else {
			wait := e.opts.RetryBase << (attempts - 1)
			if wait > time.Hour || wait <= 0 {
				wait = time.Hour
			}
			u.SetNextAttemptAt(now.Add(wait))
		}
		e.log.Warn("enrichment could not fetch a resource", "kind", r.Kind, "id", r.ResourceID, "attempt", attempts, "error", err)
	}
	if err := u.Exec(ctx); err != nil {
		return fmt.Errorf("storing the snapshot of %s %s: %w", r.Kind, r.ResourceID, err)
	}
	return nil
}

// fetchTransfer reads a transfer and, when it failed, its ACH return.
func (e *Enricher) fetchTransfer(ctx context.Context, r *ent.DwollaResource, u *ent.DwollaResourceUpdateOne) error {
	t, err := e.api.GetTransfer(ctx, r.ResourceID)
	if err != nil {
		return err
	}
	cents, err := ParseAmount(t.Amount.Value)
	if err != nil {
		return fmt.Errorf("transfer %s: %w", r.ResourceID, err)
	}
	u.SetStatus(t.Status).SetAmountCents(cents).SetCurrency(t.Amount.Currency).
		SetSourceCustomerID(linkID(t.Links["source"], "customers")).
		SetDestinationCustomerID(linkID(t.Links["destination"], "customers")).
		SetSourceFundingSourceID(linkID(t.Links["source-funding-source"], "funding-sources")).
		SetDestinationFundingSourceID(linkID(t.Links["destination-funding-source"], "funding-sources")).
		SetCorrelationID(t.CorrelationID)
	_, funding := t.Links["funding-transfer"]
	_, funded := t.Links["funded-transfer"]
	u.SetChained(funding || funded)
	if !t.Created.IsZero() {
		u.SetDwollaCreatedAt(t.Created)
	}
	if t.Status != "failed" {
		return nil
	}
	if r.FailedAt == nil {
		u.SetFailedAt(e.opts.Now())
		// A late return: the transfer had completed before it failed.
		late := r.Status == "processed"
		if !late {
			late, err = e.db.WebhookEvent.Query().Where(webhookevent.ResourceID(r.ResourceID),
				webhookevent.TopicHasSuffix("_completed")).Exist(ctx)
			if err != nil {
				return fmt.Errorf("checking for a late return: %w", err)
			}
		}
		u.SetLateReturn(late)
	}
	if _, ok := t.Links["failure"]; !ok {
		return nil
	}
	if err := e.wait(ctx); err != nil {
		return err
	}
	f, err := e.api.GetTransferFailure(ctx, r.ResourceID)
	var apiErr *dwolla.APIError
	if errors.As(err, &apiErr) && apiErr.NotFound() {
		return nil
	}
	if err != nil {
		return err
	}
	u.SetFailureCode(f.Code).SetFailureDescription(f.Description)
	return nil
}

// linkID takes the id after /{kind}/ in a link ("" when it is not one).
func linkID(l dwolla.Link, kind string) string {
	i := strings.LastIndex(l.Href, "/"+kind+"/")
	if i < 0 {
		return ""
	}
	return strings.ToLower(strings.Trim(l.Href[i+len(kind)+2:], "/"))
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n]
}

// ParseAmount reads Dwolla's amount value ("10.00") into cents.
func ParseAmount(v string) (int64, error) {
	v = strings.TrimSpace(v)
	neg := strings.HasPrefix(v, "-")
	v = strings.TrimPrefix(v, "-")
	whole, frac, _ := strings.Cut(v, ".")
	if whole == "" || len(frac) > 2 || len(whole) > 15 {
		return 0, fmt.Errorf("amount %q is not a decimal with at most two places", v)
	}
	var cents int64
	for _, c := range whole + (frac + "00")[:2] {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("amount %q is not a decimal with at most two places", v)
		}
		cents = cents*10 + int64(c-'0')
	}
	if neg {
		cents = -cents
	}
	return cents, nil
}

// Tick is one round of the live worker (the scheduler runs it on the
// leader): read the new events, then fetch what is due within budget.
func (e *Enricher) Tick(ctx context.Context, budget time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	cur, err := e.start(ctx)
	if err != nil {
		return err
	}
	for i := 0; i < 20; i++ {
		n, err := e.scan(ctx, cur, 0)
		if err != nil {
			return err
		}
		if n < e.opts.BatchSize {
			break
		}
	}
	max := int(e.opts.Rate*budget.Seconds()) + 1
	_, err = e.FetchDue(ctx, max)
	if errors.Is(err, context.DeadlineExceeded) {
		return nil // the budget is spent; the next tick goes on
	}
	return err
}

// Progress receives a history run's progress: a job's record
// (*jobs.Progress) or the CLI's progress bar.
type Progress interface {
	SetTotal(n int)
	Add(done, failed int)
	Stage(s string)
}

// HistoryJob is History as a jobs.Func.
func (e *Enricher) HistoryJob(ctx context.Context, p *jobs.Progress) (map[string]any, error) {
	return e.History(ctx, p)
}

// History enriches the events that were stored before enrichment started:
// it walks them behind its own cursor (so a stopped run resumes where it
// was) and fetches what they name within the rate budget.
func (e *Enricher) History(ctx context.Context, p Progress) (map[string]any, error) {
	if _, err := e.start(ctx); err != nil {
		return nil, err
	}
	cur, err := e.db.EnrichmentCursor.Query().Where(enrichmentcursor.Name(cursorHistory)).Only(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading the history cursor: %w", err)
	}
	total, err := e.db.WebhookEvent.Query().Where(webhookevent.IDLTE(cur.UntilEventID)).Count(ctx)
	if err != nil {
		return nil, err
	}
	done, err := e.db.WebhookEvent.Query().Where(webhookevent.IDLTE(cur.LastEventID)).Count(ctx)
	if err != nil {
		return nil, err
	}
	p.SetTotal(total)
	p.Add(done, 0)
	fetched := 0
	for cur.LastEventID < cur.UntilEventID {
		p.Stage("reading events")
		n, err := e.scan(ctx, cur, cur.UntilEventID)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			break
		}
		p.Stage("fetching resources from Dwolla")
		for {
			k, err := e.FetchDue(ctx, 100)
			if err != nil {
				return nil, err
			}
			fetched += k
			if k < 100 {
				break
			}
		}
		p.Add(n, 0)
	}
	return map[string]any{"events": total, "fetched": fetched}, nil
}

// Status is what enrichment has done, for the API and the dashboard.
type Status struct {
	Enabled bool
	// Resources by state.
	Pending, Fetched, Gone, Failed int
	// Lag is how many stored events the live worker has not read.
	Lag int
	// HistoryDone and HistoryTotal count the events before enrichment
	// started that the history job has read.
	HistoryDone, HistoryTotal int
}

// Status reports the snapshot counts and how far the cursors are.
func (e *Enricher) Status(ctx context.Context) (Status, error) {
	st := Status{Enabled: true}
	var byState []struct {
		State string `json:"state"`
		Count int    `json:"count"`
	}
	if err := e.db.DwollaResource.Query().GroupBy(dwollaresource.FieldState).Aggregate(ent.Count()).Scan(ctx, &byState); err != nil {
		return st, fmt.Errorf("counting snapshots: %w", err)
	}
	for _, s := range byState {
		switch dwollaresource.State(s.State) {
		case dwollaresource.StatePending:
			st.Pending = s.Count
		case dwollaresource.StateFetched:
			st.Fetched = s.Count
		case dwollaresource.StateGone:
			st.Gone = s.Count
		case dwollaresource.StateFailed:
			st.Failed = s.Count
		}
	}
	cursors, err := e.db.EnrichmentCursor.Query().All(ctx)
	if err != nil {
		return st, err
	}
	for _, c := range cursors {
		switch c.Name {
		case cursorLive:
			st.Lag, err = e.db.WebhookEvent.Query().Where(webhookevent.IDGT(c.LastEventID)).Count(ctx)
		case cursorHistory:
			if st.HistoryTotal, err = e.db.WebhookEvent.Query().Where(webhookevent.IDLTE(c.UntilEventID)).Count(ctx); err == nil {
				st.HistoryDone, err = e.db.WebhookEvent.Query().Where(webhookevent.IDLTE(c.LastEventID)).Count(ctx)
			}
		}
		if err != nil {
			return st, err
		}
	}
	return st, nil
}

// HistoryPending says whether the history job has events left to read.
func (e *Enricher) HistoryPending(ctx context.Context) (bool, error) {
	if _, err := e.start(ctx); err != nil {
		return false, err
	}
	cur, err := e.db.EnrichmentCursor.Query().Where(enrichmentcursor.Name(cursorHistory)).Only(ctx)
	if err != nil {
		return false, err
	}
	return cur.LastEventID < cur.UntilEventID, nil
}
