package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/url"
	"strings"
	"sync/atomic"
	"time"

	"github.com/hooklens/hooklens/internal/dwolla"
)

// Driver plays journeys through a fake Dwolla's API, the way an
// application using Dwolla would: it creates customers (with the
// sandbox's magic names for the verification branches), adds and verifies
// banks, makes transfers (from banks named R01, R03-late, … for the
// failure branches), cancels some, and calls POST /sandbox-simulations
// once per business day. The fake fires the webhooks, so every event's
// _links lead to a resource that says the same thing.
//
// Unlike Generator, which fabricates event bodies for load and tests, a
// Driver must only ever talk to a fake: it refuses Dwolla's own hosts.
type Driver struct {
	opts  DriverOptions
	rnd   *rand.Rand
	hc    *http.Client
	base  string
	token string
	seq   int

	// pools of parties built up by earlier journeys, so customers gather
	// several transfers.
	verified   []party // verified customers with a verified bank
	unverified []party // unverified customers with a verified bank
	account    party   // the master account's balance and bank
	// after are actions due after the next simulation (micro-deposit
	// amounts, a retry's second attempt).
	after []func(context.Context) error

	stats DriverStats
}

// party is a customer (or the account) and its funding sources' URLs.
type party struct {
	customer, bank, balance string
}

// DriverOptions configure a Driver.
type DriverOptions struct {
	// BaseURL, Key and Secret reach the fake's API.
	BaseURL, Key, Secret string
	// Seed names the run.
	Seed uint64
	// Mix weighs journeys and outcomes (default: DefaultMix; mass
	// payments are played as transfers, since the fake has none).
	Mix Mix
	// Client overrides the HTTP client.
	Client *http.Client
	Logger *slog.Logger
}

// DriverStats count what a Driver did.
type DriverStats struct {
	Journeys    int64
	Simulations int64
	Transfers   int64
	Errors      int64
}

// NewDriver checks opts and returns a Driver.
func NewDriver(opts DriverOptions) (*Driver, error) {
	u, err := url.Parse(opts.BaseURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("the driver needs the fake Dwolla's URL")
	}
	if h := strings.ToLower(u.Hostname()); h == "dwolla.com" || strings.HasSuffix(h, ".dwolla.com") {
		return nil, fmt.Errorf("the driver only drives a fake Dwolla, never %s", h)
	}
	if opts.Mix == nil {
		opts.Mix = DefaultMix()
	}
	if err := opts.Mix.Validate(); err != nil {
		return nil, err
	}
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	hc := opts.Client
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second}
	}
	return &Driver{opts: opts, rnd: rand.New(rand.NewPCG(opts.Seed, opts.Seed^0xd71fe)), hc: hc, base: strings.TrimRight(opts.BaseURL, "/")}, nil
}

// Stats reports what the driver has done.
func (d *Driver) Stats() DriverStats { return d.stats }

// apiError is a non-2xx answer.
type apiError struct {
	status int
	body   string
}

func (e *apiError) Error() string {
	return fmt.Sprintf("fake Dwolla answered %d: %s", e.status, e.body)
}

// call makes one API request and returns the Location or decodes the body.
func (d *Driver) call(ctx context.Context, method, path string, body any, out any) (string, error) {
	if d.token == "" {
		if err := d.login(ctx); err != nil {
			return "", err
		}
	}
	target := path
	if !strings.HasPrefix(path, "http") {
		target = d.base + "/" + strings.TrimLeft(path, "/")
	}
	var rd io.Reader
	ctype := dwolla.MediaType
	switch b := body.(type) {
	case nil:
	case *multipart.Writer:
		return "", errors.New("use upload for multipart bodies")
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			return "", err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, rd)
	if err != nil {
		return "", err
	}
	req.Header.Set("Accept", dwolla.MediaType)
	req.Header.Set("Authorization", "Bearer "+d.token)
	if rd != nil {
		req.Header.Set("Content-Type", ctype)
	}
	return d.send(req, out)
}

func (d *Driver) send(req *http.Request, out any) (string, error) {
	resp, err := d.hc.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if resp.StatusCode == http.StatusUnauthorized {
		d.token = ""
	}
	if resp.StatusCode >= 300 {
		return "", &apiError{status: resp.StatusCode, body: string(raw)}
	}
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return "", err
		}
	}
	return resp.Header.Get("Location"), nil
}

func (d *Driver) login(ctx context.Context) error {
	form := url.Values{"grant_type": {"client_credentials"}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.base+"/token", strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.SetBasicAuth(d.opts.Key, d.opts.Secret)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	var tok struct {
		AccessToken string `json:"access_token"`
	}
	if _, err := d.send(req, &tok); err != nil {
		return fmt.Errorf("getting a token from the fake Dwolla: %w", err)
	}
	d.token = tok.AccessToken
	return nil
}

// setup finds the master account's funding sources.
func (d *Driver) setup(ctx context.Context) error {
	if d.account.balance != "" {
		return nil
	}
	var root struct {
		Links map[string]dwolla.Link `json:"_links"`
	}
	if _, err := d.call(ctx, http.MethodGet, "/", nil, &root); err != nil {
		return err
	}
	var list struct {
		Embedded struct {
			Sources []struct {
				Links map[string]dwolla.Link `json:"_links"`
				Type  string                 `json:"type"`
			} `json:"funding-sources"`
		} `json:"_embedded"`
	}
	if _, err := d.call(ctx, http.MethodGet, root.Links["account"].Href+"/funding-sources", nil, &list); err != nil {
		return err
	}
	for _, fs := range list.Embedded.Sources {
		if fs.Type == "balance" {
			d.account.balance = fs.Links["self"].Href
		} else {
			d.account.bank = fs.Links["self"].Href
		}
	}
	if d.account.balance == "" || d.account.bank == "" {
		return errors.New("the fake Dwolla's account has no balance or bank")
	}
	return nil
}

var firstNames = []string{"Ada", "Ben", "Cora", "Dev", "Ema", "Finn", "Gus", "Hana", "Ivo", "Juno", "Kai", "Lena", "Milo", "Nia", "Otto", "Pia"}

// newCustomer creates a customer; firstName may be a magic name.
func (d *Driver) newCustomer(ctx context.Context, typ, firstName string) (string, error) {
	d.seq++
	if firstName == "" {
		firstName = firstNames[d.rnd.IntN(len(firstNames))]
	}
	body := map[string]string{
		"firstName": firstName, "lastName": "Sim", "type": typ,
		"email": fmt.Sprintf("sim-%d-%x@example.com", d.seq, d.opts.Seed&0xffffff),
	}
	if typ == "personal" || typ == "business" {
		for k, v := range map[string]string{"address1": "1 Main St", "city": "Des Moines", "state": "IA", "postalCode": "50309", "dateOfBirth": "1980-01-01", "ssn": "1234"} {
			body[k] = v
		}
	}
	if typ == "business" {
		body["businessName"] = fmt.Sprintf("%s Sim Co %d", firstName, d.seq)
		body["businessType"] = "llc"
		body["businessClassification"] = "9ed3f670-7d6f-11e3-b1ce-5404a6144203"
	}
	return d.call(ctx, http.MethodPost, "customers", body, nil)
}

// newBank adds a bank, verified at once (open banking) when instant.
func (d *Driver) newBank(ctx context.Context, customer, name string, instant bool) (string, error) {
	d.seq++
	body := map[string]string{"name": name}
	if instant {
		body["plaidToken"] = fmt.Sprintf("processor-sandbox-%d", d.seq)
	} else {
		body["routingNumber"] = "222222226"
		body["accountNumber"] = fmt.Sprintf("%d", 10000000+d.seq)
		body["bankAccountType"] = []string{"checking", "savings"}[d.rnd.IntN(2)]
	}
	return d.call(ctx, http.MethodPost, customer+"/funding-sources", body, nil)
}

// balanceOf finds a verified customer's balance.
func (d *Driver) balanceOf(ctx context.Context, customer string) (string, error) {
	var list struct {
		Embedded struct {
			Sources []struct {
				Links map[string]dwolla.Link `json:"_links"`
				Type  string                 `json:"type"`
			} `json:"funding-sources"`
		} `json:"_embedded"`
	}
	if _, err := d.call(ctx, http.MethodGet, customer+"/funding-sources", nil, &list); err != nil {
		return "", err
	}
	for _, fs := range list.Embedded.Sources {
		if fs.Type == "balance" {
			return fs.Links["self"].Href, nil
		}
	}
	return "", errors.New("the customer has no balance")
}

// newParty makes a customer with a verified bank (a verified customer
// also gets its balance).
func (d *Driver) newParty(ctx context.Context, verified bool) (party, error) {
	typ := "unverified"
	if verified {
		typ = "personal"
		if d.rnd.IntN(4) == 0 {
			typ = "business"
		}
	}
	c, err := d.newCustomer(ctx, typ, "")
	if err != nil {
		return party{}, err
	}
	p := party{customer: c}
	if p.bank, err = d.newBank(ctx, c, "Checking", true); err != nil {
		return party{}, err
	}
	if verified {
		if p.balance, err = d.balanceOf(ctx, c); err != nil {
			return party{}, err
		}
		d.verified = append(d.verified, p)
	} else {
		d.unverified = append(d.unverified, p)
	}
	return p, nil
}

// forget drops a customer from the pools.
func (d *Driver) forget(customer string) {
	keep := func(ps []party) []party {
		out := ps[:0]
		for _, p := range ps {
			if p.customer != customer {
				out = append(out, p)
			}
		}
		return out
	}
	d.verified, d.unverified = keep(d.verified), keep(d.unverified)
}

// pick reuses a party of the pool most of the time, so customers gather
// transfers, and grows the pool otherwise.
func (d *Driver) pick(ctx context.Context, verified bool) (party, error) {
	pool := d.unverified
	if verified {
		pool = d.verified
	}
	if len(pool) >= 3 && d.rnd.Float64() < 0.8 {
		return pool[d.rnd.IntN(len(pool))], nil
	}
	return d.newParty(ctx, verified)
}

// Step starts one journey drawn from the mix.
func (d *Driver) Step(ctx context.Context) error {
	if err := d.setup(ctx); err != nil {
		return err
	}
	d.stats.Journeys++
	var err error
	switch d.opts.Mix.pick(d.rnd, "") {
	case "personal":
		err = d.personal(ctx, d.opts.Mix.pick(d.rnd, "personal"))
	case "business":
		err = d.business(ctx, d.opts.Mix.pick(d.rnd, "business"))
	case "funding":
		err = d.funding(ctx, d.opts.Mix.pick(d.rnd, "funding"))
	default:
		err = d.transfer(ctx, TransferOutcome(d.opts.Mix.pick(d.rnd, "transfer")))
	}
	if err != nil {
		d.stats.Errors++
	}
	return err
}

func (d *Driver) personal(ctx context.Context, outcome string) error {
	switch outcome {
	case "unverified":
		_, err := d.newCustomer(ctx, "unverified", "")
		return err
	case "verified":
		_, err := d.newCustomer(ctx, "personal", "")
		return err
	case "retry":
		c, err := d.newCustomer(ctx, "personal", "retry")
		if err != nil {
			return err
		}
		d.after = append(d.after, func(ctx context.Context) error { return d.retry(ctx, c) })
		return nil
	case "document":
		c, err := d.newCustomer(ctx, "personal", "document")
		if err != nil {
			return err
		}
		return d.upload(ctx, c, d.rnd.Float64() < 0.2)
	default: // kba, suspended
		_, err := d.newCustomer(ctx, "personal", outcome)
		return err
	}
}

// retry submits a retry customer's full details.
func (d *Driver) retry(ctx context.Context, customer string) error {
	var c struct {
		Email string `json:"email"`
	}
	if _, err := d.call(ctx, http.MethodGet, customer, nil, &c); err != nil {
		return err
	}
	name := firstNames[d.rnd.IntN(len(firstNames))]
	if d.rnd.Float64() < 0.3 {
		name = "document"
	}
	_, err := d.call(ctx, http.MethodPost, customer, map[string]string{
		"firstName": name, "lastName": "Sim", "email": c.Email, "type": "personal", "address1": "1 Main St",
		"city": "Des Moines", "state": "IA", "postalCode": "50309", "dateOfBirth": "1980-01-01", "ssn": "123456789",
	}, nil)
	return err
}

// upload sends a verification document; the next simulation reviews it.
func (d *Driver) upload(ctx context.Context, customer string, reject bool) error {
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	_ = mw.WriteField("documentType", "license")
	name := "license.jpg"
	if reject {
		name = "fail-license.jpg"
	}
	fw, err := mw.CreateFormFile("file", name)
	if err != nil {
		return err
	}
	_, _ = fw.Write([]byte("\xff\xd8\xff\xe0 simulated document"))
	if err := mw.Close(); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, customer+"/documents", &buf)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", dwolla.MediaType)
	req.Header.Set("Authorization", "Bearer "+d.token)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	_, err = d.send(req, nil)
	return err
}

func (d *Driver) business(ctx context.Context, outcome string) error {
	name := ""
	switch outcome {
	case "document", "retry":
		name = outcome
	}
	c, err := d.newCustomer(ctx, "business", name)
	if err != nil {
		return err
	}
	if outcome == "document" {
		return d.upload(ctx, c, false)
	}
	return nil
}

func (d *Driver) funding(ctx context.Context, outcome string) error {
	p, err := d.pick(ctx, true)
	if err != nil {
		return err
	}
	switch outcome {
	case "instant":
		_, err := d.newBank(ctx, p.customer, "Savings", true)
		return err
	case "microdeposits-failed":
		fs, err := d.newBank(ctx, p.customer, "R03", false)
		if err != nil {
			return err
		}
		_, err = d.call(ctx, http.MethodPost, fs+"/micro-deposits", nil, nil)
		return err
	}
	fs, err := d.newBank(ctx, p.customer, "Checking", false)
	if err != nil {
		return err
	}
	if _, err := d.call(ctx, http.MethodPost, fs+"/micro-deposits", nil, nil); err != nil {
		return err
	}
	amounts := map[string]any{"amount1": map[string]string{"value": "0.03", "currency": "USD"}, "amount2": map[string]string{"value": "0.07", "currency": "USD"}}
	if outcome == "maxattempts" {
		amounts = map[string]any{"amount1": map[string]string{"value": "0.09", "currency": "USD"}, "amount2": map[string]string{"value": "0.09", "currency": "USD"}}
	}
	d.after = append(d.after, func(ctx context.Context) error {
		_, err := d.call(ctx, http.MethodPost, fs+"/micro-deposits", amounts, nil)
		var ae *apiError
		if outcome == "maxattempts" && errors.As(err, &ae) && ae.status == http.StatusBadRequest {
			_, err = d.call(ctx, http.MethodPost, fs, map[string]bool{"removed": true}, nil)
		}
		return err
	})
	return nil
}

// amount draws a transfer amount: log-normal around $120, $1 to $25,000.
func (d *Driver) amount() string {
	v := math.Exp(math.Log(120) + 1.1*d.rnd.NormFloat64())
	v = math.Min(math.Max(v, 1), 25000)
	return fmt.Sprintf("%.2f", v)
}

// failureNames are the magic bank names of the failure branches, weighted
// like the returns Dwolla customers see most.
var failureNames = []struct {
	code   string
	weight float64
}{{"R01", 50}, {"R02", 10}, {"R03", 15}, {"R04", 5}, {"R10", 10}, {"R16", 10}}

func (d *Driver) returnCode() string {
	total := 0.0
	for _, f := range failureNames {
		total += f.weight
	}
	x := d.rnd.Float64() * total
	for _, f := range failureNames {
		if x -= f.weight; x < 0 {
			return f.code
		}
	}
	return "R01"
}

// transfer makes one transfer of a kind drawn from the captured kinds the
// fake models, ending in outcome. A failure uses a new bank with a magic
// name (R01, R03-late, …) on the side whose bank the transfer debits, or
// credits when it starts from a balance.
func (d *Driver) transfer(ctx context.Context, outcome TransferOutcome) error {
	kinds := []string{"v6", "v6", "v1", "a8", "c1", "a5", "v5", "v10"}
	kind := kinds[d.rnd.IntN(len(kinds))]
	var from, to party
	var src, dst string
	var err error
	switch kind {
	case "v6", "v1", "v5", "v10":
		from, err = d.pick(ctx, true)
	case "c1":
		from, err = d.pick(ctx, false)
	default:
		from = d.account
	}
	if err != nil {
		return err
	}
	switch kind {
	case "v6", "a5":
		to, err = d.pick(ctx, true)
		for err == nil && to.customer == from.customer {
			to, err = d.newParty(ctx, true)
		}
	case "a8", "v10":
		to, err = d.pick(ctx, false)
	case "v1", "c1":
		to = d.account
	case "v5":
		to = from
	}
	if err != nil {
		return err
	}
	src, dst = from.bank, to.bank
	switch kind {
	case "v1", "c1":
		dst = d.account.balance
	case "v5":
		dst = from.balance
	case "a8":
		src = d.account.balance
	}
	amount := d.amount()
	if kind == "v10" {
		src = from.balance
		// Fund the balance first so the push can be made.
		if _, err := d.call(ctx, http.MethodPost, "transfers", transferBody(d.account.balance, from.balance, amount, ""), nil); err != nil {
			return err
		}
	}
	if outcome == TransferFailed || outcome == TransferLateFailure || outcome == TransferCreationFailed {
		name := d.returnCode()
		if outcome == TransferLateFailure {
			name += "-late"
		}
		debits := kind == "v6" || kind == "v1" || kind == "v5" || kind == "c1"
		owner := to.customer
		if debits {
			owner = from.customer
		}
		bank, err := d.newBank(ctx, owner, name, true)
		if err != nil {
			return err
		}
		if strings.HasPrefix(name, "R10") {
			// The return will deactivate the owner: it leaves the pools.
			d.forget(owner)
		}
		if debits {
			src = bank
		} else {
			dst = bank
		}
	}
	corr := ""
	if d.rnd.Float64() < 0.3 {
		corr = fmt.Sprintf("order-%d", d.seq)
	}
	loc, err := d.call(ctx, http.MethodPost, "transfers", transferBody(src, dst, amount, corr), nil)
	if err != nil {
		return err
	}
	d.stats.Transfers++
	if outcome == TransferCancelled {
		_, err = d.call(ctx, http.MethodPost, loc, map[string]string{"status": "cancelled"}, nil)
		var ae *apiError
		if errors.As(err, &ae) && ae.status == http.StatusBadRequest {
			err = nil // balance to balance: done before it could be cancelled
		}
	}
	return err
}

func transferBody(src, dst, amount, corr string) map[string]any {
	b := map[string]any{
		"_links": map[string]any{"source": map[string]string{"href": src}, "destination": map[string]string{"href": dst}},
		"amount": map[string]string{"currency": "USD", "value": amount},
	}
	if corr != "" {
		b["correlationId"] = corr
	}
	return b
}

// Simulate is one business day passing: POST /sandbox-simulations, then
// what people do after it (verify micro-deposits, retry a verification).
func (d *Driver) Simulate(ctx context.Context) error {
	if _, err := d.call(ctx, http.MethodPost, "sandbox-simulations", map[string]any{}, nil); err != nil {
		return err
	}
	d.stats.Simulations++
	after := d.after
	d.after = nil
	var errs []error
	for _, f := range after {
		if err := f(ctx); err != nil {
			d.stats.Errors++
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// DriveOptions pace Drive.
type DriveOptions struct {
	// Rate is journeys started per second (default 1).
	Rate float64
	// BusinessDayLength is the time between simulations (default 2s).
	BusinessDayLength time.Duration
	// Duration bounds the run (0: until ctx ends).
	Duration time.Duration
}

// Drive plays journeys at opts.Rate and a simulation every business day
// until ctx ends or the duration passes. API errors are logged and
// counted, not fatal: a fake with injected faults answers some with 429.
func (d *Driver) Drive(ctx context.Context, opts DriveOptions) error {
	if opts.Rate <= 0 {
		opts.Rate = 1
	}
	if opts.BusinessDayLength <= 0 {
		opts.BusinessDayLength = 2 * time.Second
	}
	if opts.Duration > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, opts.Duration)
		defer cancel()
	}
	step := time.NewTicker(time.Duration(float64(time.Second) / opts.Rate))
	defer step.Stop()
	day := time.NewTicker(opts.BusinessDayLength)
	defer day.Stop()
	for {
		var err error
		select {
		case <-ctx.Done():
			return nil
		case <-step.C:
			err = d.Step(ctx)
		case <-day.C:
			err = d.Simulate(ctx)
		}
		if err != nil && ctx.Err() == nil {
			d.opts.Logger.Warn("simulated journey step failed", "error", err)
		}
	}
}

// ShiftClock is a clock running offset from real time, so a fake Dwolla
// can be given a day of history before the present (see Backfill).
type ShiftClock struct{ offset atomic.Int64 }

// Now is real time plus the offset.
func (c *ShiftClock) Now() time.Time { return time.Now().Add(time.Duration(c.offset.Load())) }

// Set moves the clock to real time plus d (negative: the past).
func (c *ShiftClock) Set(d time.Duration) { c.offset.Store(int64(d)) }

// Backfill plays journeys spread over the span before now on clock (the
// clock the fake Dwolla reads), with a simulation every business day of
// that span, and leaves the clock at real time.
func (d *Driver) Backfill(ctx context.Context, clock *ShiftClock, span time.Duration, journeys int, businessDay time.Duration) error {
	if journeys <= 0 || span <= 0 {
		return nil
	}
	if businessDay <= 0 {
		businessDay = span / 12
	}
	defer clock.Set(0)
	lastDay := -span
	for i := 0; i < journeys; i++ {
		at := -span + time.Duration(float64(span)*float64(i)/float64(journeys))
		clock.Set(at)
		if at-lastDay >= businessDay {
			lastDay = at
			if err := d.Simulate(ctx); err != nil {
				d.opts.Logger.Warn("simulated history: a simulation failed", "error", err)
			}
		}
		if err := d.Step(ctx); err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			d.opts.Logger.Warn("simulated history: a journey failed", "error", err)
		}
	}
	clock.Set(0)
	return d.Simulate(ctx)
}

// EventsPerJourney is about how many webhooks one Driver journey fires,
// to turn an events-per-second rate into journeys per second.
const EventsPerJourney = 4.0
