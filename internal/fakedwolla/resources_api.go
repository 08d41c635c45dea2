package fakedwolla

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/hooklens/hooklens/internal/dwolla"
)

// routeResources answers the resource paths (the root, accounts,
// customers, funding sources, transfers, documents, sandbox simulations)
// and reports whether seg named one of them.
func (f *Fake) routeResources(w http.ResponseWriter, r *http.Request, seg []string, route func(map[string]http.HandlerFunc)) bool {
	get := http.MethodGet
	post := http.MethodPost
	n := len(seg)
	id := func(i int) string { return seg[i] }
	switch {
	case n == 1 && seg[0] == "":
		route(map[string]http.HandlerFunc{get: f.getRoot})
	case n == 2 && seg[0] == "accounts":
		route(map[string]http.HandlerFunc{get: func(w http.ResponseWriter, r *http.Request) { f.getAccount(w, id(1)) }})
	case n == 3 && seg[0] == "accounts" && seg[2] == "funding-sources":
		route(map[string]http.HandlerFunc{get: func(w http.ResponseWriter, r *http.Request) { f.listAccountSources(w, r, id(1)) }})
	case n == 3 && seg[0] == "accounts" && seg[2] == "transfers":
		route(map[string]http.HandlerFunc{get: func(w http.ResponseWriter, r *http.Request) { f.listTransfers(w, r, "accounts", id(1)) }})
	case n == 1 && seg[0] == "customers":
		route(map[string]http.HandlerFunc{get: f.listCustomers, post: f.createCustomer})
	case n == 2 && seg[0] == "customers":
		route(map[string]http.HandlerFunc{
			get:  func(w http.ResponseWriter, r *http.Request) { f.getCustomer(w, id(1)) },
			post: func(w http.ResponseWriter, r *http.Request) { f.updateCustomer(w, r, id(1)) },
		})
	case n == 3 && seg[0] == "customers" && seg[2] == "funding-sources":
		route(map[string]http.HandlerFunc{
			get:  func(w http.ResponseWriter, r *http.Request) { f.listCustomerSources(w, r, id(1)) },
			post: func(w http.ResponseWriter, r *http.Request) { f.createFundingSource(w, r, id(1)) },
		})
	case n == 3 && seg[0] == "customers" && seg[2] == "transfers":
		route(map[string]http.HandlerFunc{get: func(w http.ResponseWriter, r *http.Request) { f.listTransfers(w, r, "customers", id(1)) }})
	case n == 3 && seg[0] == "customers" && seg[2] == "documents":
		route(map[string]http.HandlerFunc{
			get:  func(w http.ResponseWriter, r *http.Request) { f.listDocuments(w, id(1)) },
			post: func(w http.ResponseWriter, r *http.Request) { f.createDocument(w, r, id(1)) },
		})
	case n == 2 && seg[0] == "documents":
		route(map[string]http.HandlerFunc{get: func(w http.ResponseWriter, r *http.Request) { f.getDocument(w, id(1)) }})
	case n == 2 && seg[0] == "funding-sources":
		route(map[string]http.HandlerFunc{
			get:  func(w http.ResponseWriter, r *http.Request) { f.getFundingSource(w, id(1)) },
			post: func(w http.ResponseWriter, r *http.Request) { f.updateFundingSource(w, r, id(1)) },
		})
	case n == 3 && seg[0] == "funding-sources" && seg[2] == "micro-deposits":
		route(map[string]http.HandlerFunc{
			get:  func(w http.ResponseWriter, r *http.Request) { f.getMicroDeposits(w, id(1)) },
			post: func(w http.ResponseWriter, r *http.Request) { f.postMicroDeposits(w, r, id(1)) },
		})
	case n == 3 && seg[0] == "funding-sources" && seg[2] == "balance":
		route(map[string]http.HandlerFunc{get: func(w http.ResponseWriter, r *http.Request) { f.getBalance(w, id(1)) }})
	case n == 1 && seg[0] == "transfers":
		route(map[string]http.HandlerFunc{post: f.createTransfer})
	case n == 2 && seg[0] == "transfers":
		route(map[string]http.HandlerFunc{
			get:  func(w http.ResponseWriter, r *http.Request) { f.getTransfer(w, id(1)) },
			post: func(w http.ResponseWriter, r *http.Request) { f.updateTransfer(w, r, id(1)) },
		})
	case n == 3 && seg[0] == "transfers" && seg[2] == "failure":
		route(map[string]http.HandlerFunc{get: func(w http.ResponseWriter, r *http.Request) { f.getFailure(w, id(1)) }})
	case n == 1 && seg[0] == "sandbox-simulations":
		route(map[string]http.HandlerFunc{post: f.postSimulation})
	default:
		return false
	}
	return true
}

// hal is a HAL body: its links and fields.
type hal map[string]any

func (f *Fake) links(pairs ...string) map[string]dwolla.Link {
	out := make(map[string]dwolla.Link, len(pairs)/2)
	for i := 0; i+2 < len(pairs); i += 3 {
		out[pairs[i]] = f.halLink(pairs[i+1], pairs[i+2])
	}
	return out
}

func (f *Fake) getRoot(w http.ResponseWriter, _ *http.Request) {
	writeHAL(w, http.StatusOK, hal{"_links": f.links(
		"account", "/accounts/"+f.opts.AccountID, "account",
		"customers", "/customers", "customer",
		"events", "/events", "event",
		"webhook-subscriptions", "/webhook-subscriptions", "webhook-subscription",
	)})
}

func (f *Fake) getAccount(w http.ResponseWriter, id string) {
	if !strings.EqualFold(id, f.opts.AccountID) {
		writeError(w, http.StatusNotFound, "NotFound", "Account not found.")
		return
	}
	a := "/accounts/" + f.opts.AccountID
	writeHAL(w, http.StatusOK, hal{
		"_links": f.links("self", a, "account", "receive", "/transfers", "transfer", "funding-sources", a+"/funding-sources", "funding-source",
			"transfers", a+"/transfers", "transfer", "customers", "/customers", "customer", "send", "/transfers", "transfer"),
		"id": f.opts.AccountID, "name": "Fake Dwolla master account", "timezoneOffset": -6, "type": "Commercial",
	})
}

// partyPath is the customer or account a funding source belongs to.
func (f *Fake) partyPath(c *customer) (string, string) {
	if c == nil {
		return "/accounts/" + f.opts.AccountID, "account"
	}
	return "/customers/" + c.id, "customer"
}

func (f *Fake) customerView(c *customer) hal {
	self := "/customers/" + c.id
	l := f.links("self", self, "customer", "funding-sources", self+"/funding-sources", "funding-source",
		"transfers", self+"/transfers", "transfer")
	switch c.status {
	case StatusVerified:
		l["send"] = f.halLink("/transfers", "transfer")
		l["receive"] = f.halLink("/transfers", "transfer")
		l["deactivate"] = f.halLink(self, "customer")
	case StatusUnverified:
		l["receive"] = f.halLink("/transfers", "transfer")
		if c.typ != TypeReceiveOnly {
			l["send"] = f.halLink("/transfers", "transfer")
		}
		l["deactivate"] = f.halLink(self, "customer")
	case StatusRetry:
		l["retry-verification"] = f.halLink(self, "customer")
	case StatusDocument:
		l["verify-with-document"] = f.halLink(self+"/documents", "document")
		l["documents"] = f.halLink(self+"/documents", "document")
	case StatusKBA:
		l["verify-with-kba"] = f.halLink(self+"/kba", "kba")
	case StatusDeactivated:
		l["reactivate"] = f.halLink(self, "customer")
	}
	v := hal{"_links": l, "id": c.id, "firstName": c.firstName, "lastName": c.lastName, "email": c.email,
		"type": c.typ, "status": c.status, "created": c.created.UTC().Format(TimeFormat)}
	if c.businessName != "" {
		v["businessName"] = c.businessName
	}
	return v
}

func (f *Fake) sourceView(fs *fundingSource) hal {
	self := "/funding-sources/" + fs.id
	pp, pt := f.partyPath(fs.owner)
	l := f.links("self", self, "funding-source")
	l[pt] = f.halLink(pp, pt)
	if fs.typ == "balance" {
		l["balance"] = f.halLink(self+"/balance", "balance")
		l["transfer-from-balance"] = f.halLink("/transfers", "transfer")
		l["transfer-to-balance"] = f.halLink("/transfers", "transfer")
	} else if !fs.removed {
		l["remove"] = f.halLink(self, "funding-source")
		if fs.status == StatusVerified {
			l["transfer-from"] = f.halLink("/transfers", "transfer")
		}
		l["transfer-to"] = f.halLink("/transfers", "transfer")
		switch {
		case fs.owner == nil || fs.status == StatusVerified:
		case fs.micro == nil || fs.micro.status == "failed":
			l["initiate-micro-deposits"] = f.halLink(self+"/micro-deposits", "micro-deposits")
		case fs.micro.status == "processed" && fs.micro.attempts < 3:
			l["verify-micro-deposits"] = f.halLink(self+"/micro-deposits", "micro-deposits")
		}
		if fs.micro != nil {
			l["micro-deposits"] = f.halLink(self+"/micro-deposits", "micro-deposits")
		}
	}
	v := hal{"_links": l, "id": fs.id, "status": fs.status, "type": fs.typ, "name": fs.name,
		"created": fs.created.UTC().Format(TimeFormat), "removed": fs.removed, "channels": []string{"ach"}}
	if fs.typ == "bank" {
		v["bankAccountType"] = fs.bankAccountType
		v["bankName"] = "SANDBOX TEST BANK"
		v["fingerprint"] = fingerprint(fs.routing + "/" + fs.account)
	}
	return v
}

// fingerprint is a stable, non-reversible tag of a bank account.
func fingerprint(s string) string {
	h := uint64(1469598103934665603)
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= 1099511628211
	}
	return fmt.Sprintf("%016x%016x%016x%016x", h, h*31, h*131, h*1313)
}

func (f *Fake) transferView(t *transfer) hal {
	self := "/transfers/" + t.id
	sp, st := f.partyPath(t.source.owner)
	dp, dt := f.partyPath(t.dest.owner)
	l := f.links("self", self, "transfer",
		"source-funding-source", "/funding-sources/"+t.source.id, "funding-source",
		"destination-funding-source", "/funding-sources/"+t.dest.id, "funding-source")
	l["source"] = f.halLink(sp, st)
	l["destination"] = f.halLink(dp, dt)
	if t.funding != nil {
		l["funding-transfer"] = f.halLink("/transfers/"+t.funding.id, "transfer")
	}
	if t.fundedBy != nil {
		l["funding-transfer"] = f.halLink("/transfers/"+t.fundedBy.id, "transfer")
	}
	if t.parent != nil {
		l["funded-transfer"] = f.halLink("/transfers/"+t.parent.id, "transfer")
	}
	if t.funded != nil {
		l["funded-transfer"] = f.halLink("/transfers/"+t.funded.id, "transfer")
	}
	if t.failure != nil {
		l["failure"] = f.halLink(self+"/failure", "failure")
	}
	if cancellable(t) {
		l["cancel"] = f.halLink(self, "transfer")
	}
	v := hal{"_links": l, "id": t.id, "status": t.status,
		"amount":  map[string]string{"value": formatAmount(t.cents), "currency": "USD"},
		"created": t.created.UTC().Format(TimeFormat)}
	if t.ach() {
		v["clearing"] = map[string]string{"source": "standard"}
		v["individualAchId"] = strings.ToUpper(strings.ReplaceAll(t.id, "-", ""))[:15]
	}
	if t.correlationID != "" {
		v["correlationId"] = t.correlationID
	}
	if len(t.metadata) > 0 {
		v["metadata"] = t.metadata
	}
	return v
}

// page slices items by limit and offset and writes Dwolla's list body.
func writePage[T any](f *Fake, w http.ResponseWriter, r *http.Request, path, rel, rt string, items []T, view func(T) hal, extra url.Values) {
	limit, offset, ok := pageParams(w, r.URL.Query())
	if !ok {
		return
	}
	out := []hal{}
	for i := offset; i < len(items) && i < offset+limit; i++ {
		out = append(out, view(items[i]))
	}
	writeHAL(w, http.StatusOK, hal{
		"_links":    f.pageLinks(path, extra, limit, offset, len(items), rt),
		"_embedded": map[string]any{rel: out},
		"total":     len(items),
	})
}

func (f *Fake) listCustomers(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	search := strings.ToLower(q.Get("search"))
	status, email := q.Get("status"), strings.ToLower(q.Get("email"))
	f.res.mu.Lock()
	defer f.res.mu.Unlock()
	var items []*customer
	for i := len(f.res.customers) - 1; i >= 0; i-- {
		c := f.res.customers[i]
		if status != "" && c.status != status || email != "" && c.email != email {
			continue
		}
		if search != "" && !strings.Contains(strings.ToLower(c.firstName+" "+c.lastName+" "+c.email+" "+c.businessName), search) {
			continue
		}
		items = append(items, c)
	}
	extra := url.Values{}
	for _, k := range []string{"search", "status", "email"} {
		if v := q.Get(k); v != "" {
			extra.Set(k, v)
		}
	}
	writePage(f, w, r, "/customers", "customers", "customer", items, f.customerView, extra)
}

func (f *Fake) getCustomer(w http.ResponseWriter, id string) {
	f.res.mu.Lock()
	defer f.res.mu.Unlock()
	c := f.res.custIdx[strings.ToLower(id)]
	if c == nil {
		writeError(w, http.StatusNotFound, "NotFound", "Customer not found.")
		return
	}
	writeHAL(w, http.StatusOK, f.customerView(c))
}

// customerInput is the body of POST /customers and of a retry.
type customerInput struct {
	FirstName, LastName, Email, Type, BusinessName, BusinessType, BusinessClassification string
	Address1, City, State, PostalCode, DateOfBirth, SSN, EIN, Status                     string
}

func (in *customerInput) decode(raw map[string]any) {
	s := func(k string) string { v, _ := raw[k].(string); return v }
	*in = customerInput{FirstName: s("firstName"), LastName: s("lastName"), Email: s("email"), Type: s("type"),
		BusinessName: s("businessName"), BusinessType: s("businessType"), BusinessClassification: s("businessClassification"),
		Address1: s("address1"), City: s("city"), State: s("state"), PostalCode: s("postalCode"),
		DateOfBirth: s("dateOfBirth"), SSN: s("ssn"), EIN: s("ein"), Status: s("status")}
}

var (
	digitsRe = regexp.MustCompile(`^[0-9]+$`)
	emailRe  = regexp.MustCompile(`^[^@\s]+@[^@\s]+\.[^@\s]+$`)
)

func required(errs []fieldError, v, path, name string) []fieldError {
	if strings.TrimSpace(v) == "" {
		errs = append(errs, fieldError{Code: "Required", Message: name + " required.", Path: path})
	}
	return errs
}

// validate checks a customer as Dwolla does for its type.
func (in *customerInput) validate() []fieldError {
	var errs []fieldError
	errs = required(errs, in.FirstName, "/firstName", "FirstName")
	errs = required(errs, in.LastName, "/lastName", "LastName")
	errs = required(errs, in.Email, "/email", "Email")
	if in.Email != "" && !emailRe.MatchString(in.Email) {
		errs = append(errs, fieldError{Code: "InvalidFormat", Message: "Email invalid.", Path: "/email"})
	}
	switch in.Type {
	case TypeUnverified, TypeReceiveOnly:
	case TypePersonal, TypeBusiness:
		errs = required(errs, in.Address1, "/address1", "Address1")
		errs = required(errs, in.City, "/city", "City")
		errs = required(errs, in.State, "/state", "State")
		errs = required(errs, in.PostalCode, "/postalCode", "PostalCode")
		if in.State != "" && len(in.State) != 2 {
			errs = append(errs, fieldError{Code: "InvalidFormat", Message: "State must be a two-letter abbreviation.", Path: "/state"})
		}
		if in.Type == TypePersonal {
			errs = required(errs, in.DateOfBirth, "/dateOfBirth", "DateOfBirth")
			errs = required(errs, in.SSN, "/ssn", "Ssn")
			if in.DateOfBirth != "" {
				if _, err := time.Parse(time.DateOnly, in.DateOfBirth); err != nil {
					errs = append(errs, fieldError{Code: "InvalidFormat", Message: "DateOfBirth must be a date like 1980-01-31.", Path: "/dateOfBirth"})
				}
			}
			if in.SSN != "" && (!digitsRe.MatchString(in.SSN) || (len(in.SSN) != 4 && len(in.SSN) != 9)) {
				errs = append(errs, fieldError{Code: "InvalidFormat", Message: "Ssn must be the last four or all nine digits.", Path: "/ssn"})
			}
		} else {
			errs = required(errs, in.BusinessName, "/businessName", "BusinessName")
			errs = required(errs, in.BusinessType, "/businessType", "BusinessType")
			errs = required(errs, in.BusinessClassification, "/businessClassification", "BusinessClassification")
		}
	default:
		errs = append(errs, fieldError{Code: "Invalid", Message: "Type invalid.", Path: "/type"})
	}
	return errs
}

// readBody decodes a JSON object body, writing a 400 on failure; an
// empty body (as the SDKs send for POST …/micro-deposits) is an empty
// object.
func readBody(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	raw := map[string]any{}
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err == nil && len(bytes.TrimSpace(body)) > 0 {
		err = json.Unmarshal(body, &raw)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", "The request body contains bad syntax or is incomplete.")
		return nil, false
	}
	if raw == nil {
		raw = map[string]any{}
	}
	return raw, true
}

// created answers 201 with Location, remembering it for the request's
// Idempotency-Key.
func (f *Fake) created(w http.ResponseWriter, r *http.Request, path string) {
	loc := f.opts.BaseURL + path
	f.mu.Lock()
	f.remember(r, loc)
	f.mu.Unlock()
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusCreated)
}

func (f *Fake) createCustomer(w http.ResponseWriter, r *http.Request) {
	if f.idempotent(w, r) {
		return
	}
	raw, ok := readBody(w, r)
	if !ok {
		return
	}
	var in customerInput
	in.decode(raw)
	if in.Type == "" {
		in.Type = TypeUnverified
	}
	errs := in.validate()
	f.res.mu.Lock()
	defer f.res.mu.Unlock()
	if dup := f.res.emails[strings.ToLower(in.Email)]; dup != nil && in.Email != "" {
		errs = append(errs, fieldError{Code: "Duplicate", Message: "A customer with the specified email already exists.", Path: "/email",
			Links: map[string]link{"about": {Href: f.opts.BaseURL + "/customers/" + dup.id}}})
	}
	if len(errs) > 0 {
		writeValidation(w, errs...)
		return
	}
	c := &customer{id: f.newID(), firstName: in.FirstName, lastName: in.LastName, email: in.Email,
		businessName: in.BusinessName, typ: in.Type, status: StatusUnverified, created: f.now()}
	f.res.customers = append(f.res.customers, c)
	f.res.custIdx[c.id] = c
	f.res.emails[strings.ToLower(c.email)] = c
	var p pendingEvents
	p.add("customer_created", Resource("customers", c.id), c.id, "")
	if c.typ == TypePersonal || c.typ == TypeBusiness {
		f.setStatus(&p, c, verifiedStatusFor(c.firstName))
	}
	if err := f.publish(p); err != nil {
		writeError(w, http.StatusInternalServerError, "ServerError", "A server error occurred.")
		return
	}
	f.created(w, r, "/customers/"+c.id)
}

// updateCustomer is POST /customers/{id}: a retry with full details, an
// upgrade of an unverified customer, or deactivate/reactivate.
func (f *Fake) updateCustomer(w http.ResponseWriter, r *http.Request, id string) {
	raw, ok := readBody(w, r)
	if !ok {
		return
	}
	var in customerInput
	in.decode(raw)
	f.res.mu.Lock()
	defer f.res.mu.Unlock()
	c := f.res.custIdx[strings.ToLower(id)]
	if c == nil {
		writeError(w, http.StatusNotFound, "NotFound", "Customer not found.")
		return
	}
	var p pendingEvents
	switch {
	case in.Status == "deactivated":
		if c.status == StatusDeactivated || c.status == StatusSuspended {
			writeError(w, http.StatusForbidden, "InvalidResourceState", "Customer cannot be deactivated.")
			return
		}
		f.setStatus(&p, c, StatusDeactivated)
	case in.Status == "reactivated":
		if c.status != StatusDeactivated {
			writeError(w, http.StatusForbidden, "InvalidResourceState", "Customer is not deactivated.")
			return
		}
		c.status = StatusUnverified
		if c.balance != nil {
			c.status = StatusVerified
		}
		p.add("customer_reactivated", Resource("customers", c.id), c.id, "")
	case in.Status != "":
		writeValidation(w, fieldError{Code: "Invalid", Message: "Status invalid.", Path: "/status"})
		return
	case c.status == StatusRetry || (c.status == StatusUnverified && (in.Type == TypePersonal || in.Type == TypeBusiness)):
		if in.Type == "" {
			in.Type = c.typ
		}
		if in.Email == "" {
			in.Email = c.email
		}
		errs := in.validate()
		if c.status == StatusRetry && in.Type == TypePersonal && len(in.SSN) != 9 {
			errs = append(errs, fieldError{Code: "InvalidFormat", Message: "A retry needs all nine digits of the Ssn.", Path: "/ssn"})
		}
		if len(errs) > 0 {
			writeValidation(w, errs...)
			return
		}
		c.firstName, c.lastName, c.typ = in.FirstName, in.LastName, in.Type
		if in.BusinessName != "" {
			c.businessName = in.BusinessName
		}
		next := verifiedStatusFor(in.FirstName)
		if c.status == StatusRetry && next == StatusRetry {
			next = StatusDocument // a second retry is not allowed
		}
		f.setStatus(&p, c, next)
	default:
		if c.status == StatusDeactivated || c.status == StatusSuspended {
			writeError(w, http.StatusForbidden, "InvalidResourceState", "Customer cannot be modified.")
			return
		}
		if in.Email != "" {
			if !emailRe.MatchString(in.Email) {
				writeValidation(w, fieldError{Code: "InvalidFormat", Message: "Email invalid.", Path: "/email"})
				return
			}
			delete(f.res.emails, strings.ToLower(c.email))
			c.email = in.Email
			f.res.emails[strings.ToLower(c.email)] = c
		}
	}
	if err := f.publish(p); err != nil {
		writeError(w, http.StatusInternalServerError, "ServerError", "A server error occurred.")
		return
	}
	writeHAL(w, http.StatusOK, f.customerView(c))
}

func (f *Fake) listCustomerSources(w http.ResponseWriter, r *http.Request, id string) {
	f.res.mu.Lock()
	defer f.res.mu.Unlock()
	c := f.res.custIdx[strings.ToLower(id)]
	if c == nil {
		writeError(w, http.StatusNotFound, "NotFound", "Customer not found.")
		return
	}
	f.writeSources(w, r, "/customers/"+c.id+"/funding-sources", c.sources)
}

func (f *Fake) listAccountSources(w http.ResponseWriter, r *http.Request, id string) {
	if !strings.EqualFold(id, f.opts.AccountID) {
		writeError(w, http.StatusNotFound, "NotFound", "Account not found.")
		return
	}
	f.res.mu.Lock()
	defer f.res.mu.Unlock()
	f.writeSources(w, r, "/accounts/"+f.opts.AccountID+"/funding-sources", []*fundingSource{f.res.masterBalance, f.res.masterBank})
}

// writeSources lists funding sources; ?removed=false leaves out removed
// ones. Dwolla does not page these.
func (f *Fake) writeSources(w http.ResponseWriter, r *http.Request, path string, sources []*fundingSource) {
	keepRemoved := r.URL.Query().Get("removed") != "false"
	out := []hal{}
	for _, fs := range sources {
		if fs.removed && !keepRemoved {
			continue
		}
		out = append(out, f.sourceView(fs))
	}
	writeHAL(w, http.StatusOK, hal{
		"_links":    f.links("self", path, "funding-source"),
		"_embedded": map[string]any{"funding-sources": out},
	})
}

func (f *Fake) createFundingSource(w http.ResponseWriter, r *http.Request, id string) {
	if f.idempotent(w, r) {
		return
	}
	raw, ok := readBody(w, r)
	if !ok {
		return
	}
	s := func(k string) string { v, _ := raw[k].(string); return v }
	routing, account, bat, name, plaid := s("routingNumber"), s("accountNumber"), s("bankAccountType"), s("name"), s("plaidToken")
	var errs []fieldError
	if plaid == "" {
		errs = required(errs, routing, "/routingNumber", "RoutingNumber")
		errs = required(errs, account, "/accountNumber", "AccountNumber")
		errs = required(errs, bat, "/bankAccountType", "BankAccountType")
		if routing != "" && (len(routing) != 9 || !digitsRe.MatchString(routing)) {
			errs = append(errs, fieldError{Code: "InvalidFormat", Message: "RoutingNumber must be nine digits.", Path: "/routingNumber"})
		}
		if account != "" && (len(account) < 4 || len(account) > 17 || !digitsRe.MatchString(account)) {
			errs = append(errs, fieldError{Code: "InvalidFormat", Message: "AccountNumber must be 4 to 17 digits.", Path: "/accountNumber"})
		}
		if bat != "" && bat != "checking" && bat != "savings" {
			errs = append(errs, fieldError{Code: "Invalid", Message: "BankAccountType invalid.", Path: "/bankAccountType"})
		}
	} else if bat == "" {
		bat = "checking"
	}
	errs = required(errs, name, "/name", "Name")
	if len(name) > 50 {
		errs = append(errs, fieldError{Code: "InvalidFormat", Message: "Name must be no more than 50 characters.", Path: "/name"})
	}
	f.res.mu.Lock()
	defer f.res.mu.Unlock()
	c := f.res.custIdx[strings.ToLower(id)]
	if c == nil {
		writeError(w, http.StatusNotFound, "NotFound", "Customer not found.")
		return
	}
	if c.status == StatusDeactivated || c.status == StatusSuspended {
		writeError(w, http.StatusForbidden, "InvalidResourceState", "Customer cannot be modified.")
		return
	}
	if len(errs) > 0 {
		writeValidation(w, errs...)
		return
	}
	if plaid == "" {
		for _, fs := range c.sources {
			if !fs.removed && fs.typ == "bank" && fs.routing == routing && fs.account == account {
				writeJSON(w, http.StatusBadRequest, errorType, hal{"code": "DuplicateResource", "message": "Bank already exists: id=" + fs.id,
					"_links": map[string]link{"about": {Href: f.opts.BaseURL + "/funding-sources/" + fs.id}}})
				return
			}
		}
	} else {
		routing, account = "222222226", plaid
	}
	fs := &fundingSource{id: f.newID(), owner: c, typ: "bank", bankAccountType: bat, name: name, status: StatusUnverified,
		created: f.now(), routing: routing, account: account}
	f.res.sources[fs.id] = fs
	c.sources = append(c.sources, fs)
	var p pendingEvents
	res := Resource("funding-sources", fs.id)
	p.add("customer_funding_source_added", res, c.id, "")
	if plaid != "" {
		// Open-banking verification: verified at once.
		fs.status = StatusVerified
		p.add("customer_funding_source_verified", res, c.id, "")
	}
	if err := f.publish(p); err != nil {
		writeError(w, http.StatusInternalServerError, "ServerError", "A server error occurred.")
		return
	}
	f.created(w, r, "/funding-sources/"+fs.id)
}

func (f *Fake) source(w http.ResponseWriter, id string) *fundingSource {
	fs := f.res.sources[strings.ToLower(id)]
	if fs == nil {
		writeError(w, http.StatusNotFound, "NotFound", "Funding source not found.")
	}
	return fs
}

func (f *Fake) getFundingSource(w http.ResponseWriter, id string) {
	f.res.mu.Lock()
	defer f.res.mu.Unlock()
	if fs := f.source(w, id); fs != nil {
		writeHAL(w, http.StatusOK, f.sourceView(fs))
	}
}

// updateFundingSource is POST /funding-sources/{id}: remove or rename.
func (f *Fake) updateFundingSource(w http.ResponseWriter, r *http.Request, id string) {
	raw, ok := readBody(w, r)
	if !ok {
		return
	}
	f.res.mu.Lock()
	defer f.res.mu.Unlock()
	fs := f.source(w, id)
	if fs == nil {
		return
	}
	var p pendingEvents
	removed, isRemove := raw["removed"].(bool)
	name, isName := raw["name"].(string)
	switch {
	case isRemove && removed:
		if fs.typ != "bank" || fs.removed {
			writeError(w, http.StatusForbidden, "InvalidResourceState", "Funding source cannot be removed.")
			return
		}
		fs.removed = true
		p.add(prefix(fs.owner)+"funding_source_removed", Resource("funding-sources", fs.id), fs.ownerID(), "")
	case isName && strings.TrimSpace(name) != "" && len(name) <= 50:
		fs.name = name
	default:
		writeValidation(w, fieldError{Code: "Required", Message: "Removed or Name required.", Path: "/removed"})
		return
	}
	if err := f.publish(p); err != nil {
		writeError(w, http.StatusInternalServerError, "ServerError", "A server error occurred.")
		return
	}
	writeHAL(w, http.StatusOK, f.sourceView(fs))
}

func (f *Fake) microView(fs *fundingSource) hal {
	self := "/funding-sources/" + fs.id + "/micro-deposits"
	l := f.links("self", self, "micro-deposits")
	if fs.micro.status == "processed" && fs.status != StatusVerified && fs.micro.attempts < 3 {
		l["verify-micro-deposits"] = f.halLink(self, "micro-deposits")
	}
	v := hal{"_links": l, "created": fs.micro.created.UTC().Format(TimeFormat), "status": fs.micro.status}
	if fs.micro.failure != nil {
		v["failure"] = hal{"code": fs.micro.failure.Code, "description": fs.micro.failure.Description}
	}
	return v
}

func (f *Fake) getMicroDeposits(w http.ResponseWriter, id string) {
	f.res.mu.Lock()
	defer f.res.mu.Unlock()
	fs := f.source(w, id)
	if fs == nil {
		return
	}
	if fs.micro == nil {
		writeError(w, http.StatusNotFound, "NotFound", "Micro-deposits not found.")
		return
	}
	writeHAL(w, http.StatusOK, f.microView(fs))
}

// postMicroDeposits initiates micro-deposits (empty body) or verifies
// their amounts. Amounts of at most $0.10 verify, as in the sandbox,
// except 0.09 and 0.09, which use up the attempts at once.
func (f *Fake) postMicroDeposits(w http.ResponseWriter, r *http.Request, id string) {
	raw, ok := readBody(w, r)
	if !ok {
		return
	}
	f.res.mu.Lock()
	defer f.res.mu.Unlock()
	fs := f.source(w, id)
	if fs == nil {
		return
	}
	var p pendingEvents
	res := Resource("funding-sources", fs.id)
	if len(raw) == 0 {
		if fs.owner == nil || fs.typ != "bank" || fs.removed || fs.status == StatusVerified || (fs.micro != nil && fs.micro.status != "failed") {
			writeError(w, http.StatusForbidden, "InvalidResourceState", "Micro-deposits cannot be initiated for this funding source.")
			return
		}
		fs.micro = &microDeposits{created: f.now(), status: "pending"}
		p.add("customer_microdeposits_added", res, fs.ownerID(), "")
		if err := f.publish(p); err != nil {
			writeError(w, http.StatusInternalServerError, "ServerError", "A server error occurred.")
			return
		}
		f.created(w, r, "/funding-sources/"+fs.id+"/micro-deposits")
		return
	}
	if fs.micro == nil || fs.micro.status != "processed" || fs.status == StatusVerified {
		writeError(w, http.StatusForbidden, "InvalidResourceState", "Micro-deposits are not ready to verify.")
		return
	}
	if fs.micro.attempts >= 3 {
		writeError(w, http.StatusForbidden, "InvalidResourceState", "Max number of attempts reached.")
		return
	}
	amount := func(k string) (int64, bool) {
		m, _ := raw[k].(map[string]any)
		v, _ := m["value"].(string)
		c, err := parseAmount(v)
		return c, err == nil
	}
	a1, ok1 := amount("amount1")
	a2, ok2 := amount("amount2")
	if !ok1 || !ok2 {
		var errs []fieldError
		if !ok1 {
			errs = append(errs, fieldError{Code: "Required", Message: "Amount1 required.", Path: "/amount1/value"})
		}
		if !ok2 {
			errs = append(errs, fieldError{Code: "Required", Message: "Amount2 required.", Path: "/amount2/value"})
		}
		writeValidation(w, errs...)
		return
	}
	right := a1 > 0 && a1 <= 10 && a2 > 0 && a2 <= 10 && !(a1 == 9 && a2 == 9)
	if !right {
		fs.micro.attempts++
		if a1 == 9 && a2 == 9 {
			fs.micro.attempts = 3
		}
		if fs.micro.attempts >= 3 {
			p.add("customer_microdeposits_maxattempts", res, fs.ownerID(), "")
		}
		_ = f.publish(p)
		writeValidation(w, fieldError{Code: "Invalid", Message: "Wrong amount(s).", Path: "/amount1/value"})
		return
	}
	fs.status = StatusVerified
	p.add("customer_funding_source_verified", res, fs.ownerID(), "")
	if err := f.publish(p); err != nil {
		writeError(w, http.StatusInternalServerError, "ServerError", "A server error occurred.")
		return
	}
	writeHAL(w, http.StatusOK, f.microView(fs))
}

func (f *Fake) getBalance(w http.ResponseWriter, id string) {
	f.res.mu.Lock()
	defer f.res.mu.Unlock()
	fs := f.source(w, id)
	if fs == nil {
		return
	}
	if fs.typ != "balance" {
		writeError(w, http.StatusNotFound, "NotFound", "Balance not found.")
		return
	}
	amt := map[string]string{"value": formatAmount(fs.cents), "currency": "USD"}
	writeHAL(w, http.StatusOK, hal{
		"_links":  f.links("self", "/funding-sources/"+fs.id+"/balance", "balance", "funding-source", "/funding-sources/"+fs.id, "funding-source"),
		"balance": amt, "total": amt, "lastUpdated": f.now().UTC().Format(TimeFormat),
	})
}

// hrefID takes the id after /{kind}/ in a link.
func hrefID(href, kind string) (string, bool) {
	i := strings.LastIndex(href, "/"+kind+"/")
	if i < 0 {
		return "", false
	}
	id := strings.Trim(href[i+len(kind)+2:], "/")
	if id == "" || strings.Contains(id, "/") {
		return "", false
	}
	return strings.ToLower(id), true
}

func (f *Fake) createTransfer(w http.ResponseWriter, r *http.Request) {
	if f.idempotent(w, r) {
		return
	}
	var in struct {
		Links map[string]struct {
			Href string `json:"href"`
		} `json:"_links"`
		Amount *struct {
			Value    json.RawMessage `json:"value"`
			Currency string          `json:"currency"`
		} `json:"amount"`
		CorrelationID string            `json:"correlationId"`
		Metadata      map[string]string `json:"metadata"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	var errs []fieldError
	srcHref, dstHref := in.Links["source"].Href, in.Links["destination"].Href
	errs = required(errs, srcHref, "/_links/source/href", "Source")
	errs = required(errs, dstHref, "/_links/destination/href", "Destination")
	var cents int64
	if in.Amount == nil || len(in.Amount.Value) == 0 {
		errs = append(errs, fieldError{Code: "Required", Message: "Amount required.", Path: "/amount/value"})
	} else {
		var v string
		if err := json.Unmarshal(in.Amount.Value, &v); err != nil {
			v = string(in.Amount.Value) // a JSON number, as some clients send
		}
		c, err := parseAmount(v)
		switch {
		case err != nil:
			errs = append(errs, fieldError{Code: "InvalidFormat", Message: "Amount invalid.", Path: "/amount/value"})
		case c <= 0:
			errs = append(errs, fieldError{Code: "Invalid", Message: "Amount must be greater than zero.", Path: "/amount/value"})
		default:
			cents = c
		}
		if in.Amount.Currency != "USD" {
			errs = append(errs, fieldError{Code: "Invalid", Message: "Currency invalid.", Path: "/amount/currency"})
		}
	}
	if len(in.CorrelationID) > 255 {
		errs = append(errs, fieldError{Code: "InvalidFormat", Message: "CorrelationId must be no more than 255 characters.", Path: "/correlationId"})
	}
	f.res.mu.Lock()
	defer f.res.mu.Unlock()
	var src, dst *fundingSource
	if srcHref != "" {
		if id, ok := hrefID(srcHref, "funding-sources"); ok {
			src = f.res.sources[id]
		}
		switch {
		case src == nil:
			errs = append(errs, fieldError{Code: "Invalid", Message: "Invalid funding source.", Path: "/_links/source/href"})
		case src.removed:
			errs = append(errs, fieldError{Code: "Invalid", Message: "Funding source removed.", Path: "/_links/source/href"})
		case src.typ == "bank" && src.status != StatusVerified:
			errs = append(errs, fieldError{Code: "Invalid", Message: "Funding source not verified.", Path: "/_links/source/href"})
		case src.owner != nil && (src.owner.typ == TypeReceiveOnly || src.owner.status != StatusVerified && src.owner.status != StatusUnverified):
			errs = append(errs, fieldError{Code: "Invalid", Message: "Sender cannot send funds.", Path: "/_links/source/href"})
		}
	}
	if dstHref != "" {
		if id, ok := hrefID(dstHref, "funding-sources"); ok {
			dst = f.res.sources[id]
		} else if id, ok := hrefID(dstHref, "customers"); ok && f.res.custIdx[id] != nil {
			dst = f.res.custIdx[id].balance
		}
		switch {
		case dst == nil:
			errs = append(errs, fieldError{Code: "Invalid", Message: "Invalid destination.", Path: "/_links/destination/href"})
		case dst.removed:
			errs = append(errs, fieldError{Code: "Invalid", Message: "Funding source removed.", Path: "/_links/destination/href"})
		case dst.owner != nil && dst.owner.status != StatusVerified && dst.owner.status != StatusUnverified:
			errs = append(errs, fieldError{Code: "Invalid", Message: "Receiver cannot receive funds.", Path: "/_links/destination/href"})
		case src != nil && dst == src:
			errs = append(errs, fieldError{Code: "Invalid", Message: "Source and destination must differ.", Path: "/_links/destination/href"})
		case src != nil && !canHold(src.owner) && !canHold(dst.owner):
			errs = append(errs, fieldError{Code: "Invalid", Message: "A transfer needs a verified customer or the account on one side.", Path: "/_links/destination/href"})
		}
	}
	if len(errs) > 0 {
		writeValidation(w, errs...)
		return
	}
	var p pendingEvents
	t, err := f.newTransfer(&p, src, dst, cents, in.CorrelationID, in.Metadata)
	if errors.Is(err, errInsufficientFunds) {
		writeValidation(w, fieldError{Code: "InsufficientFunds", Message: "Insufficient funds.", Path: "/amount/value"})
		return
	}
	if err == nil {
		err = f.publish(p)
	}
	if err != nil {
		writeError(w, http.StatusInternalServerError, "ServerError", "A server error occurred.")
		return
	}
	f.created(w, r, "/transfers/"+t.id)
}

// canHold says whether a party holds a balance: the account or a verified
// customer.
func canHold(c *customer) bool { return c == nil || c.balance != nil }

func (f *Fake) getTransfer(w http.ResponseWriter, id string) {
	f.res.mu.Lock()
	defer f.res.mu.Unlock()
	t := f.res.xferIdx[strings.ToLower(id)]
	if t == nil {
		writeError(w, http.StatusNotFound, "NotFound", "Transfer not found.")
		return
	}
	writeHAL(w, http.StatusOK, f.transferView(t))
}

// updateTransfer is POST /transfers/{id} {"status":"cancelled"}.
func (f *Fake) updateTransfer(w http.ResponseWriter, r *http.Request, id string) {
	raw, ok := readBody(w, r)
	if !ok {
		return
	}
	f.res.mu.Lock()
	defer f.res.mu.Unlock()
	t := f.res.xferIdx[strings.ToLower(id)]
	if t == nil {
		writeError(w, http.StatusNotFound, "NotFound", "Transfer not found.")
		return
	}
	if s, _ := raw["status"].(string); s != TransferCancelled {
		writeValidation(w, fieldError{Code: "Invalid", Message: "Status invalid.", Path: "/status"})
		return
	}
	if !cancellable(t) {
		writeValidation(w, fieldError{Code: "InvalidResourceState", Message: "A transfer can only be cancelled while pending.", Path: "/status"})
		return
	}
	var p pendingEvents
	f.cancelTransfer(&p, t)
	if err := f.publish(p); err != nil {
		writeError(w, http.StatusInternalServerError, "ServerError", "A server error occurred.")
		return
	}
	writeHAL(w, http.StatusOK, f.transferView(t))
}

func (f *Fake) getFailure(w http.ResponseWriter, id string) {
	f.res.mu.Lock()
	defer f.res.mu.Unlock()
	t := f.res.xferIdx[strings.ToLower(id)]
	if t == nil || t.failure == nil {
		writeError(w, http.StatusNotFound, "NotFound", "Failure not found.")
		return
	}
	fl := t.failure
	l := f.links("self", "/transfers/"+t.id+"/failure", "failure", "failed-funding-source", "/funding-sources/"+fl.source.id, "funding-source")
	if fl.owner != nil {
		l["customer"] = f.halLink("/customers/"+fl.owner.id, "customer")
	}
	writeHAL(w, http.StatusOK, hal{"_links": l, "code": fl.rc.Code, "description": fl.rc.Description, "explanation": fl.rc.Explanation})
}

// listTransfers pages a customer's (or the account's) transfers, newest
// first, filtered by status and correlationId.
func (f *Fake) listTransfers(w http.ResponseWriter, r *http.Request, kind, id string) {
	q := r.URL.Query()
	status, corr := q.Get("status"), q.Get("correlationId")
	f.res.mu.Lock()
	defer f.res.mu.Unlock()
	var owner *customer
	if kind == "customers" {
		if owner = f.res.custIdx[strings.ToLower(id)]; owner == nil {
			writeError(w, http.StatusNotFound, "NotFound", "Customer not found.")
			return
		}
	} else if !strings.EqualFold(id, f.opts.AccountID) {
		writeError(w, http.StatusNotFound, "NotFound", "Account not found.")
		return
	}
	var items []*transfer
	for i := len(f.res.transfers) - 1; i >= 0; i-- {
		t := f.res.transfers[i]
		if t.source.owner != owner && t.dest.owner != owner {
			continue
		}
		if status != "" && t.status != status || corr != "" && t.correlationID != corr {
			continue
		}
		items = append(items, t)
	}
	extra := url.Values{}
	for _, k := range []string{"status", "correlationId"} {
		if v := q.Get(k); v != "" {
			extra.Set(k, v)
		}
	}
	path := "/" + kind + "/" + id + "/transfers"
	writePage(f, w, r, path, "transfers", "transfer", items, f.transferView, extra)
}

func (f *Fake) documentView(d *document) hal {
	v := hal{"_links": f.links("self", "/documents/"+d.id, "document", "customer", "/customers/"+d.customer.id, "customer"),
		"id": d.id, "status": d.status, "type": d.typ, "created": d.created.UTC().Format(TimeFormat)}
	if d.status == "reviewed" {
		v["documentVerificationStatus"] = map[bool]string{true: "rejected", false: "accepted"}[d.failed]
	}
	return v
}

func (f *Fake) listDocuments(w http.ResponseWriter, id string) {
	f.res.mu.Lock()
	defer f.res.mu.Unlock()
	c := f.res.custIdx[strings.ToLower(id)]
	if c == nil {
		writeError(w, http.StatusNotFound, "NotFound", "Customer not found.")
		return
	}
	out := []hal{}
	for _, d := range c.docs {
		out = append(out, f.documentView(d))
	}
	writeHAL(w, http.StatusOK, hal{"_links": f.links("self", "/customers/"+c.id+"/documents", "document"),
		"_embedded": map[string]any{"documents": out}, "total": len(out)})
}

// documentTypes are the documents Dwolla accepts.
var documentTypes = []string{"passport", "license", "idCard", "other"}

// createDocument is POST /customers/{id}/documents (multipart: file and
// documentType). The next sandbox simulation reviews it: approved, or
// rejected when the file's name starts with "fail" (the fake's convention).
func (f *Fake) createDocument(w http.ResponseWriter, r *http.Request, id string) {
	if err := r.ParseMultipartForm(10 << 20); err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", "The request body must be multipart/form-data.")
		return
	}
	dt := r.FormValue("documentType")
	file, hdr, err := r.FormFile("file")
	var errs []fieldError
	if err != nil {
		errs = append(errs, fieldError{Code: "Required", Message: "File required.", Path: "/file"})
	} else {
		file.Close()
	}
	if !slices.Contains(documentTypes, dt) {
		errs = append(errs, fieldError{Code: "Invalid", Message: "DocumentType invalid.", Path: "/documentType"})
	}
	f.res.mu.Lock()
	defer f.res.mu.Unlock()
	c := f.res.custIdx[strings.ToLower(id)]
	if c == nil {
		writeError(w, http.StatusNotFound, "NotFound", "Customer not found.")
		return
	}
	if len(errs) > 0 {
		writeValidation(w, errs...)
		return
	}
	if c.status != StatusDocument {
		writeError(w, http.StatusForbidden, "InvalidResourceState", "Resource cannot be modified. Document creation not allowed for this customer.")
		return
	}
	d := &document{id: f.newID(), customer: c, typ: dt, status: "pending", created: f.now(),
		failed: strings.HasPrefix(strings.ToLower(hdr.Filename), "fail")}
	c.docs = append(c.docs, d)
	f.res.docs[d.id] = d
	var p pendingEvents
	p.add("customer_verification_document_uploaded", Resource("documents", d.id), c.id, "")
	if err := f.publish(p); err != nil {
		writeError(w, http.StatusInternalServerError, "ServerError", "A server error occurred.")
		return
	}
	f.created(w, r, "/documents/"+d.id)
}

func (f *Fake) getDocument(w http.ResponseWriter, id string) {
	f.res.mu.Lock()
	defer f.res.mu.Unlock()
	d := f.res.docs[strings.ToLower(id)]
	if d == nil {
		writeError(w, http.StatusNotFound, "NotFound", "Document not found.")
		return
	}
	writeHAL(w, http.StatusOK, f.documentView(d))
}

func (f *Fake) postSimulation(w http.ResponseWriter, _ *http.Request) {
	n, err := f.Simulate()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "ServerError", "A server error occurred.")
		return
	}
	writeHAL(w, http.StatusOK, hal{
		"_links": map[string]dwolla.Link{"self": f.halLink("/sandbox-simulations", "sandbox-simulation")},
		"total":  n,
	})
}

// TransferCount is the number of transfers the fake holds, for tests.
func (f *Fake) TransferCount() int {
	f.res.mu.Lock()
	defer f.res.mu.Unlock()
	return len(f.res.transfers)
}
