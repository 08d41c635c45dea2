// Package money computes the money figures of enriched transfers — volume
// and count by status over time, the amount in flight, failed and returned
// amounts, amount percentiles, and failures by ACH return code — from the
// snapshots enrichment keeps (internal/enrich). Every surface (GraphQL,
// REST, exports, Prometheus) asks Compute, so a figure has one
// implementation.
//
// A chained payment (a customer's bank → balance → other customer →
// their bank) is counted once, on the leg between the two parties; the
// funding and funded legs are the same money.
package money

import (
	"context"
	"fmt"
	"math"
	"sort"
	"time"

	"entgo.io/ent/dialect/sql"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/ent/dwollaresource"
	"github.com/hooklens/hooklens/ent/predicate"
)

// Query selects the transfers: created at Dwolla in [From, To), optionally
// one customer's, bucketed by Bucket.
type Query struct {
	From, To time.Time
	// Bucket is the series' step (default: an hour; at least a minute).
	Bucket time.Duration
	// CustomerID limits to transfers the customer sends or receives.
	CustomerID string
}

// Bucket is one step of the series: count and volume by status.
type Bucket struct {
	Start time.Time
	// ByStatus maps pending/processed/failed/cancelled to figures.
	ByStatus map[string]Amounts
}

// Amounts is a count and a sum in cents.
type Amounts struct {
	Count int
	Cents int64
}

// ReturnCode is the failures of one ACH return code.
type ReturnCode struct {
	Code        string
	Description string
	Count       int
	Cents       int64
	// Late counts returns that came after the transfer had completed.
	Late int
}

// Figures are the money figures of a window.
type Figures struct {
	From, To time.Time
	Currency string
	// Total is every counted transfer; ByStatus splits it.
	Total    Amounts
	ByStatus map[string]Amounts
	// InFlight is what is pending now (whatever the window).
	InFlight Amounts
	// Failed is failed transfers; Returned those failed by an ACH return
	// (with a code); LateReturns those returned after completing.
	Failed, Returned, LateReturns Amounts
	// Mean and percentiles of the amounts, in cents.
	MeanCents                    float64
	P50Cents, P90Cents, P99Cents int64
	Series                       []Bucket
	ReturnCodes                  []ReturnCode
	// Enriched is how many transfers have a snapshot; Unfetched how many
	// named by events still have none (pending, failed or gone).
	Enriched, Unfetched int
}

// counted is the predicate of a transfer that carries its payment's money.
func counted() predicate.DwollaResource {
	return dwollaresource.Or(
		dwollaresource.ChainedEQ(false),
		predicate.DwollaResource(func(s *sql.Selector) {
			s.Where(sql.ColumnsNEQ(s.C(dwollaresource.FieldSourceCustomerID), s.C(dwollaresource.FieldDestinationCustomerID)))
		}),
	)
}

// Compute returns the figures of q.
func Compute(ctx context.Context, db *ent.Client, q Query) (*Figures, error) {
	if q.Bucket <= 0 {
		q.Bucket = time.Hour
	}
	if q.Bucket < time.Minute {
		q.Bucket = time.Minute
	}
	if !q.To.After(q.From) {
		return nil, windowError("the window must end after it starts")
	}
	if q.To.Sub(q.From)/q.Bucket > 2000 {
		return nil, windowError("the window holds more than 2000 buckets; choose a larger bucket")
	}
	base := []predicate.DwollaResource{
		dwollaresource.KindEQ(dwollaresource.KindTransfer),
		dwollaresource.StateEQ(dwollaresource.StateFetched),
		counted(),
	}
	if q.CustomerID != "" {
		base = append(base, dwollaresource.Or(dwollaresource.SourceCustomerID(q.CustomerID), dwollaresource.DestinationCustomerID(q.CustomerID)))
	}
	rows, err := db.DwollaResource.Query().
		Where(append(base, dwollaresource.DwollaCreatedAtGTE(q.From), dwollaresource.DwollaCreatedAtLT(q.To))...).
		Select(dwollaresource.FieldStatus, dwollaresource.FieldAmountCents, dwollaresource.FieldCurrency,
			dwollaresource.FieldDwollaCreatedAt, dwollaresource.FieldFailureCode, dwollaresource.FieldFailureDescription,
			dwollaresource.FieldLateReturn).
		All(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading transfers: %w", err)
	}
	f := &Figures{From: q.From, To: q.To, Currency: "USD", ByStatus: map[string]Amounts{}}
	n := int(math.Ceil(float64(q.To.Sub(q.From)) / float64(q.Bucket)))
	f.Series = make([]Bucket, n)
	for i := range f.Series {
		f.Series[i] = Bucket{Start: q.From.Add(time.Duration(i) * q.Bucket), ByStatus: map[string]Amounts{}}
	}
	codes := map[string]*ReturnCode{}
	amounts := make([]int64, 0, len(rows))
	for _, r := range rows {
		if r.AmountCents == nil {
			continue
		}
		c := *r.AmountCents
		if r.Currency != "" {
			f.Currency = r.Currency
		}
		amounts = append(amounts, c)
		f.Total = f.Total.add(c)
		f.ByStatus[r.Status] = f.ByStatus[r.Status].add(c)
		if r.DwollaCreatedAt != nil {
			i := int(r.DwollaCreatedAt.Sub(q.From) / q.Bucket)
			if i >= 0 && i < n {
				f.Series[i].ByStatus[r.Status] = f.Series[i].ByStatus[r.Status].add(c)
			}
		}
		if r.Status != "failed" {
			continue
		}
		f.Failed = f.Failed.add(c)
		if r.FailureCode == "" {
			continue
		}
		f.Returned = f.Returned.add(c)
		rc := codes[r.FailureCode]
		if rc == nil {
			rc = &ReturnCode{Code: r.FailureCode, Description: r.FailureDescription}
			codes[r.FailureCode] = rc
		}
		rc.Count++
		rc.Cents += c
		if r.LateReturn {
			rc.Late++
			f.LateReturns = f.LateReturns.add(c)
		}
	}
	for _, rc := range codes {
		f.ReturnCodes = append(f.ReturnCodes, *rc)
	}
	sort.Slice(f.ReturnCodes, func(i, j int) bool {
		a, b := f.ReturnCodes[i], f.ReturnCodes[j]
		if a.Count != b.Count {
			return a.Count > b.Count
		}
		return a.Code < b.Code
	})
	if len(amounts) > 0 {
		sort.Slice(amounts, func(i, j int) bool { return amounts[i] < amounts[j] })
		f.MeanCents = float64(f.Total.Cents) / float64(len(amounts))
		f.P50Cents, f.P90Cents, f.P99Cents = percentile(amounts, 0.5), percentile(amounts, 0.9), percentile(amounts, 0.99)
	}
	// In flight is now, not the window.
	var inFlight []struct {
		Count int   `json:"count"`
		Sum   int64 `json:"sum"`
	}
	if err := db.DwollaResource.Query().Where(append(base, dwollaresource.Status("pending"))...).
		Aggregate(ent.Count(), ent.Sum(dwollaresource.FieldAmountCents)).Scan(ctx, &inFlight); err != nil {
		return nil, fmt.Errorf("summing transfers in flight: %w", err)
	}
	if len(inFlight) == 1 {
		f.InFlight = Amounts{Count: inFlight[0].Count, Cents: inFlight[0].Sum}
	}
	if f.Enriched, err = db.DwollaResource.Query().Where(dwollaresource.KindEQ(dwollaresource.KindTransfer), dwollaresource.StateEQ(dwollaresource.StateFetched)).Count(ctx); err != nil {
		return nil, err
	}
	if f.Unfetched, err = db.DwollaResource.Query().Where(dwollaresource.KindEQ(dwollaresource.KindTransfer), dwollaresource.StateNEQ(dwollaresource.StateFetched)).Count(ctx); err != nil {
		return nil, err
	}
	return f, nil
}

// windowError is a bad window: the caller's mistake.
type windowError string

func (e windowError) Error() string { return string(e) }

func (a Amounts) add(c int64) Amounts { return Amounts{Count: a.Count + 1, Cents: a.Cents + c} }

// percentile is the nearest-rank percentile of sorted values.
func percentile(sorted []int64, p float64) int64 {
	i := int(math.Ceil(p*float64(len(sorted)))) - 1
	if i < 0 {
		i = 0
	}
	return sorted[i]
}

// Dollars writes cents as a decimal string ("1234.50").
func Dollars(cents int64) string {
	sign := ""
	if cents < 0 {
		sign, cents = "-", -cents
	}
	return fmt.Sprintf("%s%d.%02d", sign, cents/100, cents%100)
}

// IsWindowError says whether err is a bad window (the caller's mistake).
func IsWindowError(err error) bool {
	_, ok := err.(windowError)
	return ok
}
