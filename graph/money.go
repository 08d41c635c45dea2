package graph

import (
	"sort"
	"time"

	"github.com/hooklens/hooklens/graph/model"
	"github.com/hooklens/hooklens/internal/money"
	"github.com/hooklens/hooklens/internal/usererr"
)

// statusAmounts lists a by-status map in status order.
func statusAmounts(m map[string]money.AmountView) []*model.MoneyStatusAmount {
	out := make([]*model.MoneyStatusAmount, 0, len(m))
	for s, a := range m {
		out = append(out, &model.MoneyStatusAmount{Status: s, Count: a.Count, Cents: int(a.Cents), Amount: a.Amount})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Status < out[j].Status })
	return out
}

// moneyQuery reads the money arguments as the REST API reads its
// parameters.
func moneyQuery(from, to *time.Time, bucket, customerID *string) (money.Query, error) {
	get := func(k string) string {
		switch {
		case k == "from" && from != nil:
			return from.UTC().Format(time.RFC3339)
		case k == "to" && to != nil:
			return to.UTC().Format(time.RFC3339)
		case k == "bucket" && bucket != nil:
			return *bucket
		case k == "customer" && customerID != nil:
			return *customerID
		}
		return ""
	}
	q, err := money.ParseQuery(get, time.Now().UTC())
	if err != nil {
		return q, usererr.New(usererr.Invalid, "%s", err.Error())
	}
	return q, nil
}

// moneyError shows a bad window to the caller; anything else is masked by
// the error presenter.
func moneyError(err error) error {
	if money.IsWindowError(err) {
		return usererr.New(usererr.Invalid, "%s", err.Error())
	}
	return err
}
