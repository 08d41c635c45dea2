package dwolla

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"iter"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// DateFormat is the YYYY-MM-DD format of startDate and endDate filters.
const DateFormat = "2006-01-02"

// WebhookSubscription is a webhook subscription. Dwolla never returns its
// secret.
type WebhookSubscription struct {
	Links   map[string]Link `json:"_links,omitempty"`
	ID      string          `json:"id"`
	URL     string          `json:"url"`
	Paused  bool            `json:"paused"`
	Created time.Time       `json:"created"`
}

// WebhookSubscriptionList is GET /webhook-subscriptions.
type WebhookSubscriptionList struct {
	Links    map[string]Link `json:"_links,omitempty"`
	Embedded struct {
		Subscriptions []WebhookSubscription `json:"webhook-subscriptions"`
	} `json:"_embedded"`
	Total int `json:"total"`
}

// Header is one header of a recorded webhook attempt.
type Header struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// WebhookRequest is the request half of a recorded attempt.
type WebhookRequest struct {
	Timestamp time.Time `json:"timestamp"`
	URL       string    `json:"url"`
	Headers   []Header  `json:"headers"`
	// Body is the event JSON as it was sent, as a string.
	Body string `json:"body"`
}

// WebhookResponse is the response half of a recorded attempt. Dwolla
// records empty headers and body; it records no response at all when the
// request failed in transport (timeout, refused connection).
type WebhookResponse struct {
	Timestamp  time.Time `json:"timestamp"`
	Headers    []Header  `json:"headers"`
	StatusCode int       `json:"statusCode"`
	Body       string    `json:"body"`
}

// createdField reads the "created" that the docs name in place of the
// "timestamp" that examples and the OpenAPI spec use.
type createdField struct {
	Created time.Time `json:"created"`
}

// UnmarshalJSON accepts created in place of timestamp.
func (r *WebhookRequest) UnmarshalJSON(b []byte) error {
	type plain WebhookRequest
	var p plain
	var c createdField
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	_ = json.Unmarshal(b, &c)
	if p.Timestamp.IsZero() {
		p.Timestamp = c.Created
	}
	*r = WebhookRequest(p)
	return nil
}

// UnmarshalJSON accepts created in place of timestamp.
func (r *WebhookResponse) UnmarshalJSON(b []byte) error {
	type plain WebhookResponse
	var p plain
	var c createdField
	if err := json.Unmarshal(b, &p); err != nil {
		return err
	}
	_ = json.Unmarshal(b, &c)
	if p.Timestamp.IsZero() {
		p.Timestamp = c.Created
	}
	*r = WebhookResponse(p)
	return nil
}

// WebhookAttempt is one delivery attempt of a webhook.
type WebhookAttempt struct {
	ID       string           `json:"id"`
	Request  WebhookRequest   `json:"request"`
	Response *WebhookResponse `json:"response,omitempty"`
}

// Succeeded reports whether the attempt got an answer below 300.
func (a WebhookAttempt) Succeeded() bool {
	return a.Response != nil && a.Response.StatusCode > 0 && a.Response.StatusCode < 300
}

// Webhook is one event's delivery record for one subscription.
type Webhook struct {
	Links          map[string]Link  `json:"_links,omitempty"`
	ID             string           `json:"id"`
	Topic          string           `json:"topic"`
	AccountID      string           `json:"accountId"`
	EventID        string           `json:"eventId"`
	SubscriptionID string           `json:"subscriptionId"`
	Attempts       []WebhookAttempt `json:"attempts"`
}

// NeverSent reports whether no attempt was made (the subscription was
// paused); Dwolla does not send these on unpause, they must be retried.
func (w Webhook) NeverSent() bool { return len(w.Attempts) == 0 }

// Delivered reports whether any attempt succeeded.
func (w Webhook) Delivered() bool {
	for _, a := range w.Attempts {
		if a.Succeeded() {
			return true
		}
	}
	return false
}

// WebhooksPage is one page of GET /webhook-subscriptions/{id}/webhooks.
type WebhooksPage struct {
	Links    map[string]Link `json:"_links,omitempty"`
	Embedded struct {
		Webhooks []Webhook `json:"webhooks"`
	} `json:"_embedded"`
	Total int `json:"total"`
}

// WebhookRetry is one requested retry of a webhook.
type WebhookRetry struct {
	Links     map[string]Link `json:"_links,omitempty"`
	ID        string          `json:"id"`
	Timestamp time.Time       `json:"timestamp"`
}

// WebhookRetryList is GET /webhooks/{id}/retries.
type WebhookRetryList struct {
	Links    map[string]Link `json:"_links,omitempty"`
	Embedded struct {
		Retries []WebhookRetry `json:"retries"`
	} `json:"_embedded"`
	Total int `json:"total"`
}

// newIdempotencyKey returns a random key for one logical POST.
func newIdempotencyKey() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// idFromLocation takes the last path segment of a Location header.
func idFromLocation(resp *response) (string, error) {
	loc := resp.header.Get("Location")
	u, err := url.Parse(loc)
	if loc == "" || err != nil {
		return "", fmt.Errorf("the answer has no usable Location header")
	}
	id := u.Path[strings.LastIndexByte(u.Path, '/')+1:]
	if id == "" {
		return "", fmt.Errorf("the answer has no usable Location header")
	}
	return id, nil
}

// CreateWebhookSubscription subscribes url, signed with secret, and returns
// the new subscription's id. It is not retried after a 5xx or a lost
// answer (Dwolla may have created it; list to find out) but is after a 429.
func (c *Client) CreateWebhookSubscription(ctx context.Context, endpoint, secret string) (string, error) {
	resp, err := c.do(ctx, request{
		method: http.MethodPost, path: "/webhook-subscriptions",
		body:           map[string]string{"url": endpoint, "secret": secret},
		idempotencyKey: newIdempotencyKey(),
	}, nil)
	if err != nil {
		return "", fmt.Errorf("creating a webhook subscription: %w", err)
	}
	id, err := idFromLocation(resp)
	if err != nil {
		return "", fmt.Errorf("creating a webhook subscription: %w", err)
	}
	return id, nil
}

// ListWebhookSubscriptions lists the application's subscriptions.
func (c *Client) ListWebhookSubscriptions(ctx context.Context) (*WebhookSubscriptionList, error) {
	var out WebhookSubscriptionList
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/webhook-subscriptions"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// GetWebhookSubscription gets one subscription.
func (c *Client) GetWebhookSubscription(ctx context.Context, id string) (*WebhookSubscription, error) {
	var out WebhookSubscription
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/webhook-subscriptions/" + pathEscape(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetWebhookSubscriptionPaused pauses or unpauses a subscription. Webhooks
// recorded while it was paused are not sent on unpause: retry them.
// Setting a state is idempotent, so this call is retried like a GET.
func (c *Client) SetWebhookSubscriptionPaused(ctx context.Context, id string, paused bool) (*WebhookSubscription, error) {
	var out WebhookSubscription
	if _, err := c.do(ctx, request{
		method: http.MethodPost, path: "/webhook-subscriptions/" + pathEscape(id),
		body: map[string]bool{"paused": paused}, retrySafe: true,
	}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteWebhookSubscription deletes a subscription, and with it Dwolla's
// record of its webhooks.
func (c *Client) DeleteWebhookSubscription(ctx context.Context, id string) (*WebhookSubscription, error) {
	var out WebhookSubscription
	if _, err := c.do(ctx, request{method: http.MethodDelete, path: "/webhook-subscriptions/" + pathEscape(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// WebhookListOptions filter GET /webhook-subscriptions/{id}/webhooks.
// Zero fields are not sent.
type WebhookListOptions struct {
	Limit, Offset int
	// StartDate and EndDate are sent as dates (YYYY-MM-DD, UTC).
	StartDate, EndDate time.Time
	ResourceID         string
}

func (o WebhookListOptions) query() string {
	q := url.Values{}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Offset > 0 {
		q.Set("offset", strconv.Itoa(o.Offset))
	}
	if !o.StartDate.IsZero() {
		q.Set("startDate", o.StartDate.UTC().Format(DateFormat))
	}
	if !o.EndDate.IsZero() {
		q.Set("endDate", o.EndDate.UTC().Format(DateFormat))
	}
	if o.ResourceID != "" {
		q.Set("resourceId", o.ResourceID)
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// ListWebhooks gets one page of a subscription's webhooks.
func (c *Client) ListWebhooks(ctx context.Context, subscriptionID string, opts WebhookListOptions) (*WebhooksPage, error) {
	var out WebhooksPage
	path := "/webhook-subscriptions/" + pathEscape(subscriptionID) + "/webhooks" + opts.query()
	if _, err := c.do(ctx, request{method: http.MethodGet, path: path}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// Webhooks iterates over every webhook of a subscription matching opts,
// page by page from opts.Offset. An API error is yielded once and ends it.
func (c *Client) Webhooks(ctx context.Context, subscriptionID string, opts WebhookListOptions) iter.Seq2[Webhook, error] {
	if opts.Limit <= 0 {
		opts.Limit = 200
	}
	return func(yield func(Webhook, error) bool) {
		seen := map[string]bool{}
		for {
			page, err := c.ListWebhooks(ctx, subscriptionID, opts)
			if err != nil {
				yield(Webhook{}, fmt.Errorf("listing webhooks at offset %d: %w", opts.Offset, err))
				return
			}
			for _, w := range page.Embedded.Webhooks {
				if seen[w.ID] {
					continue
				}
				seen[w.ID] = true
				if !yield(w, nil) {
					return
				}
			}
			n := len(page.Embedded.Webhooks)
			opts.Offset += n
			if n == 0 || opts.Offset >= page.Total {
				return
			}
		}
	}
}

// GetWebhook gets one webhook with its attempts.
func (c *Client) GetWebhook(ctx context.Context, id string) (*Webhook, error) {
	var out Webhook
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/webhooks/" + pathEscape(id)}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RetryWebhook asks Dwolla to send a webhook again and returns the retry's
// id. A repeated retry only sends the event once more, which receivers
// deduplicate, so this call is retried like a GET.
func (c *Client) RetryWebhook(ctx context.Context, id string) (string, error) {
	resp, err := c.do(ctx, request{
		method: http.MethodPost, path: "/webhooks/" + pathEscape(id) + "/retries",
		retrySafe: true, idempotencyKey: newIdempotencyKey(),
	}, nil)
	if err != nil {
		return "", fmt.Errorf("retrying webhook %s: %w", id, err)
	}
	rid, err := idFromLocation(resp)
	if err != nil {
		return "", fmt.Errorf("retrying webhook %s: %w", id, err)
	}
	return rid, nil
}

// ListWebhookRetries lists the retries requested for a webhook.
func (c *Client) ListWebhookRetries(ctx context.Context, id string) (*WebhookRetryList, error) {
	var out WebhookRetryList
	if _, err := c.do(ctx, request{method: http.MethodGet, path: "/webhooks/" + pathEscape(id) + "/retries"}, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
