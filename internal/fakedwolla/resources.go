package fakedwolla

import (
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// The resources behind the events: customers, funding sources and
// transfers, with Dwolla's statuses and transitions (REFERENCE.md §4–5).
// Every change is made by an API call or a sandbox simulation and fires
// the webhooks Dwolla fires for it, so an event's _links always lead to a
// resource that says the same thing.

// Customer types and statuses.
const (
	TypePersonal    = "personal"
	TypeBusiness    = "business"
	TypeUnverified  = "unverified"
	TypeReceiveOnly = "receive-only"

	StatusUnverified  = "unverified"
	StatusRetry       = "retry"
	StatusKBA         = "kba"
	StatusDocument    = "document"
	StatusVerified    = "verified"
	StatusSuspended   = "suspended"
	StatusDeactivated = "deactivated"
)

// Transfer statuses.
const (
	TransferPending   = "pending"
	TransferProcessed = "processed"
	TransferFailed    = "failed"
	TransferCancelled = "cancelled"
)

// customer is a Customer. Names and emails are kept because the API
// returns them; the fake holds nothing real.
type customer struct {
	id                  string
	firstName, lastName string
	email               string
	businessName        string
	typ, status         string
	created             time.Time
	// balance is a verified customer's Dwolla balance.
	balance *fundingSource
	sources []*fundingSource
	docs    []*document
}

// document is an uploaded verification document.
type document struct {
	id       string
	customer *customer
	typ      string
	status   string // pending, reviewed
	failed   bool
	created  time.Time
}

// fundingSource is a bank or a balance, of a customer or (owner nil) of
// the master account.
type fundingSource struct {
	id              string
	owner           *customer
	typ             string // bank or balance
	bankAccountType string
	name            string
	status          string // unverified or verified
	removed         bool
	created         time.Time
	routing         string
	account         string // kept only to detect duplicates; never returned
	cents           int64  // a balance's funds
	micro           *microDeposits
}

// microDeposits are a bank's two verification deposits.
type microDeposits struct {
	created  time.Time
	status   string // pending, processed, failed
	failure  *ReturnCode
	attempts int
}

// transfer is one transfer; a customer's bank-to-bank payment is a chain
// of up to three (funding → main → funded) as in Dwolla.
type transfer struct {
	id            string
	source, dest  *fundingSource
	cents         int64
	status        string
	created       time.Time
	correlationID string
	metadata      map[string]string
	// funding must clear before this transfer; parent waits for this one.
	funding, parent *transfer
	// funded is created once this one completes, pushing to fundedBank.
	funded     *transfer
	fundedBank *fundingSource
	// fundedBy is the transfer whose completion created this push.
	fundedBy *transfer
	failure  *transferFailure
	// late is a return that fails the transfer after it completed.
	late *ReturnCode
	// reserved is what was taken from the source balance at creation.
	reserved int64
}

// transferFailure is GET /transfers/{id}/failure.
type transferFailure struct {
	rc     ReturnCode
	source *fundingSource
	owner  *customer
}

// ach says whether the transfer moves money through a bank, so it waits
// for a sandbox simulation.
func (t *transfer) ach() bool { return t.source.typ == "bank" || t.dest.typ == "bank" }

// bank is the bank the transfer touches (nil for balance to balance).
func (t *transfer) bank() *fundingSource {
	if t.source.typ == "bank" {
		return t.source
	}
	if t.dest.typ == "bank" {
		return t.dest
	}
	return nil
}

// resources are the fake's customers, funding sources and transfers.
type resources struct {
	mu        sync.Mutex
	customers []*customer // creation order
	custIdx   map[string]*customer
	sources   map[string]*fundingSource
	transfers []*transfer
	xferIdx   map[string]*transfer
	docs      map[string]*document
	emails    map[string]*customer
	// master account funding sources
	masterBalance, masterBank *fundingSource
}

// initResources creates the master account's balance and bank.
func (f *Fake) initResources() {
	r := &f.res
	r.custIdx = map[string]*customer{}
	r.sources = map[string]*fundingSource{}
	r.xferIdx = map[string]*transfer{}
	r.docs = map[string]*document{}
	r.emails = map[string]*customer{}
	now := f.now()
	r.masterBalance = &fundingSource{id: f.newID(), typ: "balance", name: "Balance", status: StatusVerified, created: now, cents: 100_000_000_00}
	r.masterBank = &fundingSource{id: f.newID(), typ: "bank", bankAccountType: "checking", name: "Master account checking", status: StatusVerified, created: now, routing: "222222226"}
	r.sources[r.masterBalance.id] = r.masterBalance
	r.sources[r.masterBank.id] = r.masterBank
}

// now is Dwolla's clock: the events' created times and the resources'.
func (f *Fake) now() time.Time {
	if f.opts.Now != nil {
		return f.opts.Now()
	}
	return time.Now()
}

// pendingEvents collects the events of one change, published in order.
type pendingEvents []EventSpec

func (p *pendingEvents) add(topic string, res Ref, customerID, corr string) {
	*p = append(*p, EventSpec{Topic: topic, Resource: res, CustomerID: customerID, CorrelationID: corr})
}

// publish sends the collected events. Called with res.mu held, so events
// of concurrent changes never interleave.
func (f *Fake) publish(p pendingEvents) error {
	now := f.now()
	for _, spec := range p {
		spec.Created = now
		if _, err := f.EmitSpec(spec); err != nil {
			return err
		}
	}
	return nil
}

// ownerID is the customer id of a funding source's owner ("" for the
// master account).
func (fs *fundingSource) ownerID() string {
	if fs.owner == nil {
		return ""
	}
	return fs.owner.id
}

// prefix is "customer_" for a customer's events, "" for the master's.
func prefix(c *customer) string {
	if c == nil {
		return ""
	}
	return "customer_"
}

// transferEvents adds the events of a transfer reaching state (created,
// completed, failed, cancelled): a party's bank-to-own-balance leg is a
// bank transfer, sent once; any other is a transfer, sent for each side.
func transferEvents(p *pendingEvents, t *transfer, state string) {
	res := Resource("transfers", t.id)
	if t.source.owner == t.dest.owner {
		p.add(prefix(t.source.owner)+"bank_transfer_"+state, res, t.source.ownerID(), t.correlationID)
		return
	}
	p.add(prefix(t.source.owner)+"transfer_"+state, res, t.source.ownerID(), t.correlationID)
	p.add(prefix(t.dest.owner)+"transfer_"+state, res, t.dest.ownerID(), t.correlationID)
}

// parseAmount reads Dwolla's amount value ("10.00") into cents.
func parseAmount(v string) (int64, error) {
	v = strings.TrimSpace(v)
	whole, frac, hasFrac := strings.Cut(v, ".")
	if whole == "" || len(frac) > 2 || (hasFrac && frac == "") {
		return 0, fmt.Errorf("invalid amount %q", v)
	}
	for _, c := range whole + frac {
		if c < '0' || c > '9' {
			return 0, fmt.Errorf("invalid amount %q", v)
		}
	}
	if len(whole) > 10 {
		return 0, fmt.Errorf("amount %q is too large", v)
	}
	w, _ := strconv.ParseInt(whole, 10, 64)
	for len(frac) < 2 {
		frac += "0"
	}
	c, _ := strconv.ParseInt(frac, 10, 64)
	return w*100 + c, nil
}

// formatAmount writes cents as Dwolla's amount value.
func formatAmount(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
}

// verifiedStatusFor reads the sandbox's magic first names.
func verifiedStatusFor(firstName string) string {
	switch strings.ToLower(strings.TrimSpace(firstName)) {
	case "retry":
		return StatusRetry
	case "kba":
		return StatusKBA
	case "document":
		return StatusDocument
	case "suspended":
		return StatusSuspended
	}
	return StatusVerified
}

// statusEvent is the webhook of a verification status.
var statusEvent = map[string]string{
	StatusVerified:    "customer_verified",
	StatusRetry:       "customer_reverification_needed",
	StatusKBA:         "customer_kba_verification_needed",
	StatusDocument:    "customer_verification_document_needed",
	StatusSuspended:   "customer_suspended",
	StatusDeactivated: "customer_deactivated",
}

// setStatus moves c to status, creating its balance when it becomes
// verified, and adds the event.
func (f *Fake) setStatus(p *pendingEvents, c *customer, status string) {
	c.status = status
	if status == StatusVerified && c.balance == nil {
		c.balance = &fundingSource{id: f.newID(), owner: c, typ: "balance", name: "Balance", status: StatusVerified, created: f.now()}
		f.res.sources[c.balance.id] = c.balance
		c.sources = append(c.sources, c.balance)
	}
	if topic, ok := statusEvent[status]; ok {
		p.add(topic, Resource("customers", c.id), c.id, "")
	}
}

// hasBalance says whether a funding source's owner holds a balance that
// bank transfers pass through (the master account, a verified customer).
func hasBalance(r *resources, fs *fundingSource) *fundingSource {
	if fs.owner == nil {
		return r.masterBalance
	}
	return fs.owner.balance
}

// newTransfer plans a transfer from source to dest as Dwolla chains it
// and returns the main transfer. Called with res.mu held.
func (f *Fake) newTransfer(p *pendingEvents, source, dest *fundingSource, cents int64, corr string, meta map[string]string) (*transfer, error) {
	r := &f.res
	now := f.now()
	mk := func(s, d *fundingSource) *transfer {
		t := &transfer{id: f.newID(), source: s, dest: d, cents: cents, status: TransferPending, created: now, correlationID: corr, metadata: meta}
		r.transfers = append(r.transfers, t)
		r.xferIdx[t.id] = t
		return t
	}
	from, to := source, dest
	var funding *transfer
	var fundedBank *fundingSource
	if source.typ == "bank" && source.owner != dest.owner {
		if bal := hasBalance(r, source); bal != nil {
			from = bal
			funding = mk(source, bal)
		}
	}
	if dest.typ == "bank" && source.owner != dest.owner {
		if bal := hasBalance(r, dest); bal != nil {
			to = bal
			fundedBank = dest
		}
	}
	if funding == nil && from.typ == "balance" {
		if from.cents < cents {
			return nil, errInsufficientFunds
		}
	}
	main := mk(from, to)
	main.fundedBank = fundedBank
	if funding != nil {
		main.funding, funding.parent = funding, main
		transferEvents(p, funding, "created")
	} else if from.typ == "balance" {
		from.cents -= cents
		main.reserved = cents
	}
	transferEvents(p, main, "created")
	if funding == nil && !main.ach() {
		f.completeTransfer(p, main)
	}
	return main, nil
}

var errInsufficientFunds = fmt.Errorf("insufficient funds")

// completeTransfer marks t processed, credits its destination, completes
// the transfer waiting on it and creates the push to a bank that follows.
func (f *Fake) completeTransfer(p *pendingEvents, t *transfer) {
	t.status = TransferProcessed
	if t.dest.typ == "balance" {
		t.dest.cents += t.cents
	}
	transferEvents(p, t, "completed")
	if parent := t.parent; parent != nil && parent.status == TransferPending {
		if parent.source.typ == "balance" {
			parent.source.cents -= parent.cents
			parent.reserved = parent.cents
		}
		if !parent.ach() {
			f.completeTransfer(p, parent)
		}
	}
	if t.fundedBank != nil && t.funded == nil {
		g := &transfer{id: f.newID(), source: t.dest, dest: t.fundedBank, cents: t.cents, status: TransferPending, created: f.now(), correlationID: t.correlationID, metadata: t.metadata}
		f.res.transfers = append(f.res.transfers, g)
		f.res.xferIdx[g.id] = g
		t.funded, g.fundedBy = g, t
		t.dest.cents -= g.cents
		g.reserved = g.cents
		transferEvents(p, g, "created")
	}
}

// failTransfer fails t (and the transfer it funds) with an ACH return of
// bank, and applies the return's effect on the bank and its owner.
func (f *Fake) failTransfer(p *pendingEvents, t *transfer, rc ReturnCode, bank *fundingSource) {
	wasProcessed := t.status == TransferProcessed
	t.status = TransferFailed
	t.failure = &transferFailure{rc: rc, source: bank, owner: bank.owner}
	if wasProcessed && t.dest.typ == "balance" {
		t.dest.cents -= t.cents // a late return takes the money back
	}
	if t.source.typ == "balance" {
		t.source.cents += t.reserved
		t.reserved = 0
	}
	transferEvents(p, t, "failed")
	if parent := t.parent; parent != nil && (parent.status == TransferPending || parent.status == TransferProcessed) {
		parentProcessed := parent.status == TransferProcessed
		parent.status = TransferFailed
		parent.failure = t.failure
		if parentProcessed && parent.dest.typ == "balance" {
			parent.dest.cents -= parent.cents
		}
		if parent.source.typ == "balance" {
			parent.source.cents += parent.reserved
			parent.reserved = 0
		}
		transferEvents(p, parent, "failed")
	}
	pre := prefix(bank.owner)
	fsRef := Resource("funding-sources", bank.id)
	if rc.Unverifies && bank.status == StatusVerified {
		bank.status = StatusUnverified
		p.add(pre+"funding_source_unverified", fsRef, bank.ownerID(), "")
	}
	if rc.Removes && !bank.removed {
		bank.removed = true
		p.add(pre+"funding_source_removed", fsRef, bank.ownerID(), "")
	}
	if rc.Deactivates && bank.owner != nil && bank.owner.status != StatusDeactivated {
		f.setStatus(p, bank.owner, StatusDeactivated)
	}
}

// cancelTransfer cancels t with the funding transfer it waits for.
func (f *Fake) cancelTransfer(p *pendingEvents, t *transfer) {
	for _, x := range []*transfer{t.funding, t} {
		if x == nil || x.status != TransferPending {
			continue
		}
		x.status = TransferCancelled
		if x.source.typ == "balance" {
			x.source.cents += x.reserved
			x.reserved = 0
		}
		transferEvents(p, x, "cancelled")
	}
}

// cancellable says whether t can still be cancelled: pending, and its
// bank leg not yet exported.
func cancellable(t *transfer) bool {
	if t.status != TransferPending || t.funded != nil {
		return false
	}
	if t.funding != nil {
		return t.funding.status == TransferPending
	}
	return t.ach()
}

// Simulate is POST /sandbox-simulations: it processes or fails the pending
// bank transfers (at most 500, oldest first) and initiated micro-deposits,
// fails the completed transfers of "-late" banks, and approves uploaded
// documents. It returns how many bank transfers it handled.
func (f *Fake) Simulate() (int, error) {
	r := &f.res
	r.mu.Lock()
	defer r.mu.Unlock()
	var p pendingEvents
	n := 0
	var ready []*transfer
	var late []*transfer
	for _, t := range r.transfers {
		switch {
		case t.status == TransferPending && t.ach() && (t.funding == nil || t.funding.status == TransferProcessed):
			ready = append(ready, t)
		case t.status == TransferProcessed && t.late != nil:
			late = append(late, t)
		}
	}
	for _, t := range late {
		rc := *t.late
		t.late = nil
		f.failTransfer(&p, t, rc, t.bank())
	}
	for _, t := range ready {
		if n >= 500 {
			break
		}
		if t.status != TransferPending {
			continue
		}
		n++
		bank := t.bank()
		if rc, isLate, ok := magicReturn(bank.name); ok {
			if !isLate {
				f.failTransfer(&p, t, rc, bank)
				continue
			}
			t.late = &rc
		}
		f.completeTransfer(&p, t)
	}
	for _, c := range r.customers {
		for _, fs := range c.sources {
			md := fs.micro
			if md == nil || md.status != "pending" {
				continue
			}
			res := Resource("funding-sources", fs.id)
			if rc, _, ok := magicReturn(fs.name); ok {
				md.status, md.failure = "failed", &rc
				p.add("customer_microdeposits_failed", res, c.id, "")
				continue
			}
			md.status = "processed"
			p.add("customer_microdeposits_completed", res, c.id, "")
		}
		for _, d := range c.docs {
			if d.status != "pending" {
				continue
			}
			d.status = "reviewed"
			res := Resource("documents", d.id)
			if d.failed {
				p.add("customer_verification_document_failed", res, c.id, "")
				continue
			}
			p.add("customer_verification_document_approved", res, c.id, "")
			if c.status == StatusDocument {
				f.setStatus(&p, c, StatusVerified)
			}
		}
	}
	return n, f.publish(p)
}
