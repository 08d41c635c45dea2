package reconcile

import (
	"context"
	"time"

	"github.com/hooklens/hooklens/internal/dwolla"
)

// Status describes the Dwolla integration right now.
type Status struct {
	Configured   bool
	APIURL       string
	Breaker      string
	WebhookURL   string
	Subscription *dwolla.WebhookSubscription
	Error        string
}

// Status asks Dwolla for our subscription (within 10 seconds). Errors are
// reported in the status, not returned: the page showing it must render.
func (s *Service) Status(ctx context.Context) Status {
	st := Status{Configured: s.opts.Client != nil, WebhookURL: s.opts.WebhookURL}
	if s.opts.Client == nil {
		st.Error = ErrNotConfigured.Error()
		return st
	}
	st.APIURL = s.opts.Client.BaseURL()
	st.Breaker = string(s.opts.Client.BreakerState())
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	sub, err := s.Subscription(ctx)
	switch {
	case err != nil:
		st.Error = err.Error()
	case sub == nil:
		st.Error = "no webhook subscription delivers to " + s.opts.WebhookURL
	default:
		st.Subscription = sub
	}
	return st
}
