package alert

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/internal/live"
	"github.com/hooklens/hooklens/internal/metrics"
	"github.com/hooklens/hooklens/internal/pipeline"
	"github.com/hooklens/hooklens/internal/store"
)

// Facts answers what the database alone cannot: state that lives in the
// running server or outside hooklens. The server implements it.
type Facts interface {
	// PipelineStatus is the pipeline's state ((*pipeline.Pipeline).Status):
	// breaker, queue and dead letters.
	PipelineStatus(ctx context.Context) (pipeline.Status, error)
	// Subscription is what hooklens last learned about its Dwolla webhook
	// subscription. It must answer from what was recorded, not call Dwolla:
	// it is asked every minute. Without Dwolla credentials it returns the
	// zero SubscriptionState (unknown) and no error.
	Subscription(ctx context.Context) (SubscriptionState, error)
}

// SubscriptionState is the last known state of hooklens' Dwolla webhook
// subscription.
type SubscriptionState struct {
	// Known is false when hooklens has no credentials or never checked.
	Known bool
	// Paused is Dwolla's paused flag: webhooks are recorded but not sent.
	Paused bool
	// ID is Dwolla's id of the subscription.
	ID string
	// CheckedAt is when the state was learned.
	CheckedAt time.Time
}

// Sealer encrypts channel URLs and secrets at rest; *vault.Keyring is one.
// A sealed field is stored as the encoding, a zero byte, then the sealed
// bytes (the same framing as vault.SealField), so the column describes
// itself and key rotation can re-seal it.
type Sealer interface {
	Seal(plain []byte) (encoding string, sealed []byte, err error)
	Open(encoding string, stored []byte) ([]byte, error)
}

// Options tune a Service. Zero values take the defaults.
type Options struct {
	// BaseURL is hooklens' public URL (HOOKLENS_PUBLIC_URL); notifications
	// link to BaseURL + "/alerts/<id>". Empty: no link.
	BaseURL string
	// AllowedHosts, when set, is the only hosts channel URLs may name:
	// "hooks.slack.com", or "*.example.com" for any subdomain.
	AllowedHosts []string
	// Timeout bounds one delivery attempt (default 5s).
	Timeout time.Duration
	// Attempts is how many times a delivery is tried (default 3).
	Attempts int
	// Backoff is the wait before the first retry; it doubles (default 1s).
	Backoff time.Duration
	// Registerer, when set, receives the package's metrics
	// (hooklens_alert_notifications_total, hooklens_alerts_firing).
	Registerer prometheus.Registerer
	// Now is the clock of person-driven changes (default time.Now);
	// Evaluate takes its time as an argument.
	Now func() time.Time
}

func (o *Options) defaults() {
	if o.Timeout <= 0 {
		o.Timeout = 5 * time.Second
	}
	if o.Attempts <= 0 {
		o.Attempts = 3
	}
	if o.Backoff <= 0 {
		o.Backoff = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	o.BaseURL = strings.TrimRight(o.BaseURL, "/")
}

// Service evaluates rules, keeps alerts and sends notifications.
type Service struct {
	db     *store.DB
	client *ent.Client
	facts  Facts
	sealer Sealer
	hub    *live.Hub
	log    *slog.Logger
	opts   Options
	hosts  hostPolicy
	http   *http.Client

	sent   *prometheus.CounterVec
	firing *prometheus.GaugeVec

	// bg tracks deliveries started by person-driven changes, which do not
	// wait for them; Close waits.
	bg     sync.WaitGroup
	bgMu   sync.Mutex
	closed bool
}

// New returns a service. facts, sealer and hub are required.
func New(db *store.DB, facts Facts, sealer Sealer, hub *live.Hub, log *slog.Logger, opts Options) (*Service, error) {
	if facts == nil || sealer == nil || hub == nil {
		return nil, errors.New("alert service: facts, sealer and hub are required")
	}
	opts.defaults()
	hosts, err := parseHostPolicy(opts.AllowedHosts)
	if err != nil {
		return nil, fmt.Errorf("alert allowed hosts: %w", err)
	}
	s := &Service{
		db: db, client: db.Client, facts: facts, sealer: sealer, hub: hub, log: log,
		opts: opts, hosts: hosts, http: newHTTPClient(opts.Timeout),
	}
	s.sent = prometheus.NewCounterVec(prometheus.CounterOpts{
		Namespace: metrics.Namespace, Name: "alert_notifications_total",
		Help: "Alert notifications sent to channels, by channel kind (webhook, slack, log) and result (ok, error).",
	}, []string{"kind", "result"})
	s.firing = prometheus.NewGaugeVec(prometheus.GaugeOpts{
		Namespace: metrics.Namespace, Name: "alerts_firing",
		Help: "hooklens alerts firing and not acknowledged, by severity, as of the last evaluation on this instance.",
	}, []string{"severity"})
	if opts.Registerer != nil {
		if s.sent, err = register(opts.Registerer, s.sent); err != nil {
			return nil, err
		}
		if s.firing, err = register(opts.Registerer, s.firing); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// register registers c, or returns the identical collector registered
// before (a second service on the same registry, as in tests).
func register[C prometheus.Collector](r prometheus.Registerer, c C) (C, error) {
	if err := r.Register(c); err != nil {
		var are prometheus.AlreadyRegisteredError
		if errors.As(err, &are) {
			if existing, ok := are.ExistingCollector.(C); ok {
				return existing, nil
			}
		}
		return c, fmt.Errorf("registering alert metrics: %w", err)
	}
	return c, nil
}

// Close waits for notifications still being delivered in the background
// (after an acknowledgement, a resolution by hand or a deleted rule), up to
// ctx. Later person-driven notifications are sent before the call returns.
func (s *Service) Close(ctx context.Context) error {
	s.bgMu.Lock()
	s.closed = true
	s.bgMu.Unlock()
	done := make(chan struct{})
	go func() { s.bg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("waiting for alert notifications: %w", ctx.Err())
	}
}

// background runs fn without holding up the caller, unless the service is
// closing, in which case it runs fn now.
func (s *Service) background(fn func(context.Context)) {
	ctx := context.Background()
	s.bgMu.Lock()
	if s.closed {
		s.bgMu.Unlock()
		fn(ctx)
		return
	}
	s.bg.Add(1)
	s.bgMu.Unlock()
	go func() { defer s.bg.Done(); fn(ctx) }()
}

// withTx runs fn in a transaction. On SQLite the transaction takes the
// single writer, so fn must use tx for everything it writes.
func (s *Service) withTx(ctx context.Context, fn func(tx *ent.Tx) error) error {
	tx, err := s.client.Tx(ctx)
	if err != nil {
		return fmt.Errorf("starting transaction: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("committing: %w", err)
	}
	return nil
}
