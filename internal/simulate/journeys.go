package simulate

import (
	"fmt"
	"strings"
	"time"

	"github.com/hooklens/hooklens/internal/fakedwolla"
)

// CustomerStep is one step of a personal customer's verification
// (REFERENCE.md §5.1). Each emits exactly the events Dwolla fires for it.
type CustomerStep string

// Steps of a personal verification.
const (
	// Verified: customer_verified.
	Verified CustomerStep = "verified"
	// Retry: customer_reverification_needed (status retry).
	Retry CustomerStep = "retry"
	// KBA: customer_kba_verification_needed (status kba).
	KBA CustomerStep = "kba"
	// KBAPass: customer_kba_verification_passed, then customer_verified.
	KBAPass CustomerStep = "kba-pass"
	// KBAFail: customer_kba_verification_failed, then
	// customer_verification_document_needed.
	KBAFail CustomerStep = "kba-fail"
	// Document: customer_verification_document_needed (status document).
	Document CustomerStep = "document"
	// DocumentFailed: a document is uploaded and rejected; another is needed.
	DocumentFailed CustomerStep = "document-failed"
	// DocumentApproved: a document is uploaded and approved, then
	// customer_verified.
	DocumentApproved CustomerStep = "document-approved"
	// Suspended: customer_suspended (after a document: a fraudulent upload).
	Suspended CustomerStep = "suspended"
)

// customer verification states.
const (
	stCreated   = "created"
	stRetry     = "retry"
	stKBA       = "kba"
	stDocument  = "document"
	stVerified  = "verified"
	stSuspended = "suspended"
)

// personalTransitions says which steps each status allows and where they
// lead.
var personalTransitions = map[string]map[CustomerStep]string{
	stCreated:  {Verified: stVerified, Retry: stRetry, KBA: stKBA, Document: stDocument, Suspended: stSuspended},
	stRetry:    {Verified: stVerified, KBA: stKBA, Document: stDocument, Suspended: stSuspended},
	stKBA:      {KBAPass: stVerified, KBAFail: stDocument},
	stDocument: {DocumentApproved: stVerified, DocumentFailed: stDocument, Suspended: stSuspended},
}

// Personal plans one personal customer taking path from customer_created,
// such as Retry, KBA, KBAFail, DocumentApproved. An empty path is an
// unverified (receive-only) customer: customer_created alone. A step the
// status does not allow is an error.
func (g *Generator) Personal(path ...CustomerStep) (Lifecycle, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.personal(path)
}

func (g *Generator) personal(path []CustomerStep) (Lifecycle, error) {
	p := g.plan("personal")
	cust := p.id()
	res := fakedwolla.Resource("customers", cust)
	p.emit("customer_created", res, cust)
	state := stCreated
	var names []string
	for _, step := range path {
		next, ok := personalTransitions[state][step]
		if !ok {
			return Lifecycle{}, fmt.Errorf("a customer in status %s cannot take step %s", state, step)
		}
		names = append(names, string(step))
		switch step {
		case Verified:
			if state == stCreated {
				p.soon()
			} else {
				p.userAction()
			}
			p.emit("customer_verified", res, cust)
		case Retry:
			p.soon().emit("customer_reverification_needed", res, cust)
		case KBA:
			if state == stCreated {
				p.soon()
			} else {
				p.userAction()
			}
			p.emit("customer_kba_verification_needed", res, cust)
		case KBAPass:
			// Two minutes to answer once the questions are fetched.
			p.userAction().after(30*time.Second, 2*time.Minute).emit("customer_kba_verification_passed", res, cust)
			p.soon().emit("customer_verified", res, cust)
		case KBAFail:
			p.userAction().after(30*time.Second, 2*time.Minute).emit("customer_kba_verification_failed", res, cust)
			p.soon().emit("customer_verification_document_needed", res, cust)
		case Document:
			if state == stCreated {
				p.soon()
			} else {
				p.userAction()
			}
			p.emit("customer_verification_document_needed", res, cust)
		case DocumentFailed, DocumentApproved:
			doc := fakedwolla.Resource("documents", p.id())
			p.userAction().emit("customer_verification_document_uploaded", doc, cust)
			// Review takes seconds up to 1–2 business days.
			p.after(10*time.Second, 2*BusinessDay)
			if step == DocumentFailed {
				p.emit("customer_verification_document_failed", doc, cust)
			} else {
				p.emit("customer_verification_document_approved", doc, cust)
				p.soon().emit("customer_verified", res, cust)
			}
		case Suspended:
			if state == stDocument {
				doc := fakedwolla.Resource("documents", p.id())
				p.userAction().emit("customer_verification_document_uploaded", doc, cust)
				p.after(time.Hour, 2*BusinessDay)
			} else {
				p.soon()
			}
			p.emit("customer_suspended", res, cust)
		}
		state = next
	}
	outcome := strings.Join(names, ">")
	if outcome == "" {
		outcome = "unverified"
	}
	return p.done(outcome), nil
}

// randomPersonal draws a path starting with the mix's personal outcome.
func (g *Generator) randomPersonal() Lifecycle {
	r := g.rnd
	var path []CustomerStep
	docs := func() {
		for i := 0; ; i++ {
			x := r.Float64()
			switch {
			case i < 3 && x < 0.25:
				path = append(path, DocumentFailed)
			case x < 0.28:
				path = append(path, Suspended)
				return
			default:
				path = append(path, DocumentApproved)
				return
			}
		}
	}
	kba := func() {
		path = append(path, KBA)
		if r.Float64() < 0.6 {
			path = append(path, KBAPass)
			return
		}
		path = append(path, KBAFail)
		docs()
	}
	switch g.cfg.Mix.pick(r, "personal") {
	case "verified":
		path = []CustomerStep{Verified}
	case "retry":
		path = []CustomerStep{Retry}
		switch x := r.Float64(); {
		case x < 0.5:
			path = append(path, Verified)
		case x < 0.75:
			kba()
		case x < 0.95:
			path = append(path, Document)
			docs()
		default:
			path = append(path, Suspended)
		}
	case "kba":
		kba()
	case "document":
		path = []CustomerStep{Document}
		docs()
	case "suspended":
		if r.IntN(2) == 0 {
			path = []CustomerStep{Retry}
		}
		path = append(path, Suspended)
	}
	lc, err := g.personal(path)
	if err != nil {
		panic("simulate: a drawn personal path is invalid: " + err.Error())
	}
	return lc
}

// Business plans a business customer with owners beneficial owners
// (REFERENCE.md §5.2); outcome is verified, document, review or retry.
func (g *Generator) Business(outcome string, owners int) (Lifecycle, error) {
	ok := false
	for _, n := range mixGroups["business"] {
		ok = ok || n == outcome
	}
	if !ok || owners < 0 {
		return Lifecycle{}, fmt.Errorf("a business outcome is one of %s, with owners ≥ 0", strings.Join(mixGroups["business"], ", "))
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.business(outcome, owners), nil
}

func (g *Generator) business(outcome string, owners int) Lifecycle {
	p := g.plan("business")
	cust := p.id()
	res := fakedwolla.Resource("customers", cust)
	p.emit("customer_created", res, cust)
	for i := 0; i < owners; i++ {
		owner := fakedwolla.Resource("beneficial-owners", p.id())
		p.userAction().emit("customer_beneficial_owner_created", owner, cust)
		switch x := p.rnd.Float64(); {
		case x < 0.7:
			p.soon().emit("customer_beneficial_owner_verified", owner, cust)
		case x < 0.85:
			// Status incomplete: one update is allowed.
			p.soon().emit("customer_beneficial_owner_reverification_needed", owner, cust)
			p.userAction().emit("customer_beneficial_owner_verified", owner, cust)
		default:
			p.soon().emit("customer_beneficial_owner_verification_document_needed", owner, cust)
			for {
				doc := fakedwolla.Resource("documents", p.id())
				p.userAction().emit("customer_beneficial_owner_verification_document_uploaded", doc, cust)
				p.after(10*time.Second, 2*BusinessDay)
				if p.chance(0.25) {
					p.emit("customer_beneficial_owner_verification_document_failed", doc, cust)
					continue
				}
				p.emit("customer_beneficial_owner_verification_document_approved", doc, cust)
				p.soon().emit("customer_beneficial_owner_verified", owner, cust)
				break
			}
		}
	}
	// Certifying ownership fires no webhook; the customer's own
	// verification follows, without KBA.
	p.userAction()
	switch outcome {
	case "verified":
		p.emit("customer_verified", res, cust)
	case "review":
		p.emit("customer_verification_pending_review", res, cust)
		p.days(2, 3).emit("customer_verified", res, cust)
	case "retry":
		p.emit("customer_reverification_needed", res, cust)
		p.soon().emit("customer_address_verification_failed", res, cust)
		p.userAction().emit("customer_verified", res, cust)
	case "document":
		p.emit("customer_verification_document_needed", res, cust)
		doc := fakedwolla.Resource("documents", p.id())
		p.userAction().emit("customer_verification_document_uploaded", doc, cust)
		p.after(10*time.Second, 2*BusinessDay).emit("customer_verification_document_approved", doc, cust)
		p.soon().emit("customer_verified", res, cust)
	}
	return p.done(outcome)
}

// FundingSource plans a customer's bank (REFERENCE.md §5.3); outcome is
// instant, microdeposits, microdeposits-failed or maxattempts.
func (g *Generator) FundingSource(outcome string) (Lifecycle, error) {
	ok := false
	for _, n := range mixGroups["funding"] {
		ok = ok || n == outcome
	}
	if !ok {
		return Lifecycle{}, fmt.Errorf("a funding-source outcome is one of %s", strings.Join(mixGroups["funding"], ", "))
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.funding(outcome), nil
}

func (g *Generator) funding(outcome string) Lifecycle {
	p := g.plan("funding")
	cust := p.id()
	fs := fakedwolla.Resource("funding-sources", p.id())
	p.emit("customer_funding_source_added", fs, cust)
	if outcome == "instant" {
		p.soon().emit("customer_funding_source_verified", fs, cust)
		return p.done(outcome)
	}
	p.soon().emit("customer_microdeposits_added", fs, cust)
	p.days(1, 2)
	switch outcome {
	case "microdeposits":
		p.emit("customer_microdeposits_completed", fs, cust)
		p.userAction().emit("customer_funding_source_verified", fs, cust)
	case "microdeposits-failed":
		p.emit("customer_microdeposits_failed", fs, cust)
	case "maxattempts":
		p.emit("customer_microdeposits_completed", fs, cust)
		p.userAction().emit("customer_microdeposits_maxattempts", fs, cust)
		p.userAction().emit("customer_funding_source_removed", fs, cust)
	}
	return p.done(outcome)
}

// TransferOutcome is how a transfer ends.
type TransferOutcome string

// Transfer outcomes (REFERENCE.md §5.4).
const (
	TransferCompleted TransferOutcome = "completed"
	// TransferFailed: an ACH return at the clearing leg; later legs are
	// never created.
	TransferFailed TransferOutcome = "failed"
	// TransferCancelled: cancelled before export, hours after creation.
	TransferCancelled TransferOutcome = "cancelled"
	// TransferCreationFailed: the push to the receiver's bank cannot be
	// created (the balance is too low).
	TransferCreationFailed TransferOutcome = "creation-failed"
	// TransferLateFailure: completed, then failed by a late return
	// (R01-late, R03-late).
	TransferLateFailure TransferOutcome = "late-failure"
)

// Transfer plans one transfer of kind ending in outcome. code is the ACH
// return of a failure (R01, R03, …; "" draws one).
func (g *Generator) Transfer(kind string, outcome TransferOutcome, code string) (Lifecycle, error) {
	k, ok := LookupTransferKind(kind)
	if !ok {
		return Lifecycle{}, fmt.Errorf("unknown transfer kind %q", kind)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.transfer(k, outcome, code)
}

// parties are the customers (or the master account) of one transfer.
type parties struct{ sender, receiver string }

func (ps parties) of(s Side) string {
	if s == Sender {
		return ps.sender
	}
	return ps.receiver
}

func (g *Generator) transfer(k TransferKind, outcome TransferOutcome, code string) (Lifecycle, error) {
	p := g.plan("transfer:" + k.Name)
	ps := parties{}
	if k.From != PartyMaster {
		ps.sender = p.id()
	}
	switch {
	case k.To == PartyMaster:
	case k.Name == "v5":
		ps.receiver = ps.sender // to the same customer's balance
	default:
		ps.receiver = p.id()
	}
	corr := ""
	if g.cfg.CorrelationShare > 0 && p.chance(g.cfg.CorrelationShare) {
		corr = fmt.Sprintf("order-%d-%s", g.n, p.id()[:8])
	}
	if err := g.addTransfer(p, k, ps, outcome, code, corr); err != nil {
		return Lifecycle{}, err
	}
	return p.done(string(outcome)), nil
}

// addTransfer plans one transfer's legs into p from p's current time.
func (g *Generator) addTransfer(p *planner, k TransferKind, ps parties, outcome TransferOutcome, code, corr string) error {
	var rc ReturnCode
	switch outcome {
	case TransferCompleted:
	case TransferFailed, TransferLateFailure:
		var err error
		if rc, err = g.returnCode(code); err != nil {
			return err
		}
		p.lc.ReturnCode = rc.Code
		if outcome == TransferLateFailure {
			p.lc.ReturnCode += "-late"
		}
	case TransferCancelled:
		if !k.cancellable {
			return fmt.Errorf("a %s transfer (%s) cannot be cancelled", k.Name, k.Title)
		}
	case TransferCreationFailed:
		if k.pushLeg < 0 {
			return fmt.Errorf("a %s transfer (%s) has no push to a bank that could fail on creation", k.Name, k.Title)
		}
	default:
		return fmt.Errorf("unknown transfer outcome %q", outcome)
	}
	ids := []string{p.id(), p.id(), p.id()}
	emit := func(e legEvent, topic string) {
		cust := ""
		if strings.HasPrefix(topic, "customer_") {
			cust = ps.of(e.Side)
		}
		p.lc.Events = append(p.lc.Events, Planned{
			Offset: p.at, Topic: topic, Resource: fakedwolla.Resource("transfers", ids[e.Transfer]),
			CustomerID: cust, CorrelationID: corr,
		})
	}
	legGap := func(l leg) {
		if l.MaxDays > 0 {
			p.days(l.MinDays, l.MaxDays)
		} else {
			p.soon()
		}
	}
	for i, l := range k.legs {
		if outcome == TransferCancelled && i == 1 {
			// Cancelled before export, the same business day.
			p.after(10*time.Minute, 6*time.Hour)
			for _, e := range k.legs[0].Events {
				emit(e, swapOutcome(e.Topic, "cancelled"))
			}
			return nil
		}
		if i > 0 {
			legGap(l)
		}
		switch {
		case outcome == TransferFailed && i == k.failLeg:
			for _, e := range l.Events {
				if strings.HasSuffix(e.Topic, "_completed") {
					emit(e, swapOutcome(e.Topic, "failed"))
				}
			}
			g.afterReturn(p, rc, ps.of(k.failParty))
			return nil
		case outcome == TransferCreationFailed && i == k.pushLeg:
			for _, e := range l.Events {
				if e.Topic == "customer_bank_transfer_created" && e.Side == Receiver {
					emit(e, "customer_bank_transfer_creation_failed")
				} else {
					emit(e, e.Topic)
				}
			}
			return nil
		}
		for j, e := range l.Events {
			if j > 0 {
				p.soon()
			}
			emit(e, e.Topic)
		}
	}
	if outcome == TransferLateFailure {
		// A late return (R01-late): completed transfers of the clearing
		// leg fail days later.
		p.days(1, 3)
		for _, e := range k.legs[k.failLeg].Events {
			if strings.HasSuffix(e.Topic, "_completed") {
				emit(e, swapOutcome(e.Topic, "failed"))
			}
		}
		g.afterReturn(p, rc, ps.of(k.failParty))
	}
	return nil
}

// returnCode finds code, or draws one by weight when code is "".
func (g *Generator) returnCode(code string) (ReturnCode, error) {
	if code != "" {
		code = strings.TrimSuffix(strings.ToUpper(code), "-LATE")
		for _, rc := range returnCodes {
			if rc.Code == code {
				return rc, nil
			}
		}
		return ReturnCode{}, fmt.Errorf("unknown ACH return code %q", code)
	}
	total := 0.0
	for _, rc := range returnCodes {
		total += rc.weight
	}
	x := g.rnd.Float64() * total
	for _, rc := range returnCodes {
		if x -= rc.weight; x < 0 {
			return rc, nil
		}
	}
	return returnCodes[0], nil
}

// afterReturn plans what a return does to the returning party's bank and,
// for R10-type codes, to the customer (REFERENCE.md §5.3).
func (g *Generator) afterReturn(p *planner, rc ReturnCode, customer string) {
	fs := fakedwolla.Resource("funding-sources", p.id())
	prefix := "customer_"
	if customer == "" {
		prefix = ""
	}
	if rc.unverifies {
		p.soon().emit(prefix+"funding_source_unverified", fs, customer)
	}
	if rc.removes {
		p.soon().emit(prefix+"funding_source_removed", fs, customer)
	}
	if rc.deactivates && customer != "" {
		p.soon().emit("customer_deactivated", fakedwolla.Resource("customers", customer), customer)
	}
}

// MassPayment plans a mass payment of items transfers (REFERENCE.md §5.5)
// from the master account, or from a verified customer when byCustomer;
// outcome is completed or cancelled (a deferred job cancelled).
func (g *Generator) MassPayment(outcome string, items int, byCustomer bool) (Lifecycle, error) {
	if (outcome != "completed" && outcome != "cancelled") || items < 1 || items > 5000 {
		return Lifecycle{}, fmt.Errorf("a mass payment is completed or cancelled, with 1 to 5000 items")
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.massPayment(outcome, items, byCustomer), nil
}

func (g *Generator) massPayment(outcome string, items int, byCustomer bool) Lifecycle {
	p := g.plan("masspayment")
	prefix, payer, kind := "", "", transferKinds[2] // a8: master balance → customer bank
	if byCustomer {
		prefix, payer = "customer_", p.id()
		kind, _ = LookupTransferKind("v10") // verified balance → customer bank
	}
	mp := fakedwolla.Resource("mass-payments", p.id())
	p.emit(prefix+"mass_payment_created", mp, payer)
	if outcome == "cancelled" {
		p.userAction().emit(prefix+"mass_payment_cancelled", mp, payer)
		return p.done(outcome)
	}
	start := p.at
	for i := 0; i < items; i++ {
		// Items are processed at 0.5–1 s each.
		p.at = start + time.Duration(i+1)*750*time.Millisecond
		itemOutcome := TransferCompleted
		if p.chance(0.05) {
			itemOutcome = TransferFailed
		}
		sub := &planner{g: g, rnd: p.rnd, at: p.at}
		_ = g.addTransfer(sub, kind, parties{sender: payer, receiver: p.id()}, itemOutcome, "", "")
		p.lc.Events = append(p.lc.Events, sub.lc.Events...)
	}
	p.at = start + time.Duration(items)*time.Second
	p.emit(prefix+"mass_payment_completed", mp, payer)
	return p.done(outcome)
}
