package dwolla

import (
	"context"
	"net/http"
	"time"
)

// The resources events name, read for enrichment. Only the fields
// hooklens keeps are decoded: never account numbers; names only when a
// setting asks (internal/enrich).

// Amount is Dwolla's money value: a decimal string and a currency.
type Amount struct {
	Value    string `json:"value"`
	Currency string `json:"currency"`
}

// Transfer is GET /transfers/{id}.
type Transfer struct {
	Links         map[string]Link `json:"_links"`
	ID            string          `json:"id"`
	Status        string          `json:"status"`
	Amount        Amount          `json:"amount"`
	Created       time.Time       `json:"created"`
	CorrelationID string          `json:"correlationId"`
}

// TransferFailure is GET /transfers/{id}/failure: the ACH return.
type TransferFailure struct {
	Links       map[string]Link `json:"_links"`
	Code        string          `json:"code"`
	Description string          `json:"description"`
	Explanation string          `json:"explanation"`
}

// Customer is GET /customers/{id}.
type Customer struct {
	Links        map[string]Link `json:"_links"`
	ID           string          `json:"id"`
	Type         string          `json:"type"`
	Status       string          `json:"status"`
	Created      time.Time       `json:"created"`
	FirstName    string          `json:"firstName"`
	LastName     string          `json:"lastName"`
	BusinessName string          `json:"businessName"`
}

// FundingSource is GET /funding-sources/{id}.
type FundingSource struct {
	Links           map[string]Link `json:"_links"`
	ID              string          `json:"id"`
	Status          string          `json:"status"`
	Type            string          `json:"type"`
	BankAccountType string          `json:"bankAccountType"`
	Name            string          `json:"name"`
	Removed         bool            `json:"removed"`
	Created         time.Time       `json:"created"`
}

// GetTransfer gets a transfer; a missing one is an *APIError with
// NotFound() true.
func (c *Client) GetTransfer(ctx context.Context, id string) (*Transfer, error) {
	var t Transfer
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/transfers/" + pathEscape(id)}, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// GetTransferFailure gets the ACH return of a failed transfer.
func (c *Client) GetTransferFailure(ctx context.Context, id string) (*TransferFailure, error) {
	var f TransferFailure
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/transfers/" + pathEscape(id) + "/failure"}, &f); err != nil {
		return nil, err
	}
	return &f, nil
}

// GetCustomer gets a customer.
func (c *Client) GetCustomer(ctx context.Context, id string) (*Customer, error) {
	var cu Customer
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/customers/" + pathEscape(id)}, &cu); err != nil {
		return nil, err
	}
	return &cu, nil
}

// GetFundingSource gets a funding source.
func (c *Client) GetFundingSource(ctx context.Context, id string) (*FundingSource, error) {
	var fs FundingSource
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/funding-sources/" + pathEscape(id)}, &fs); err != nil {
		return nil, err
	}
	return &fs, nil
}
