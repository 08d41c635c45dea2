package alert

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/hooklens/hooklens/ent"
	entalert "github.com/hooklens/hooklens/ent/alert"
	"github.com/hooklens/hooklens/ent/alertchannel"
)

// PayloadVersion is the version of Payload; it rises only when a field
// changes meaning or goes away (new fields may appear within a version).
const PayloadVersion = 1

// Payload is the JSON body a webhook channel receives. Its fields are a
// stable contract, documented in docs/alerts.md: every key is always
// present (null when it has no value).
type Payload struct {
	Version int `json:"version"`
	// ID names this notification; retries of one delivery repeat it, so a
	// receiver can drop duplicates. "<alertId>-<notification>", or
	// "test-<channelId>-<unix nanoseconds>" for tests.
	ID string `json:"id"`
	// Event is fired, renotified, resolved or test.
	Event string `json:"event"`
	// Status is firing or resolved (a test is firing).
	Status    string `json:"status"`
	AlertID   int    `json:"alertId"`
	Rule      string `json:"rule"`
	RuleName  string `json:"ruleName"`
	Condition string `json:"condition"`
	// Severity is info, warning or critical.
	Severity  string   `json:"severity"`
	Title     string   `json:"title"`
	Message   string   `json:"message"`
	Value     *float64 `json:"value"`
	Threshold *float64 `json:"threshold"`
	// Unit of value and threshold: percent, seconds, count or score.
	Unit           string     `json:"unit"`
	StartedAt      time.Time  `json:"startedAt"`
	AcknowledgedAt *time.Time `json:"acknowledgedAt"`
	AcknowledgedBy string     `json:"acknowledgedBy"`
	ResolvedAt     *time.Time `json:"resolvedAt"`
	// ResolvedBy is "auto" or the person's token name.
	ResolvedBy string `json:"resolvedBy"`
	// Notification counts this alert's notifications, this one included.
	Notification int       `json:"notification"`
	SentAt       time.Time `json:"sentAt"`
	// URL opens the alert in hooklens' dashboard ("" without a public URL).
	URL string `json:"url"`
}

// Signature headers of webhook channels with a secret.
const (
	// SignatureHeader carries "sha256=" + hex HMAC-SHA256 of
	// "<timestamp>.<body>" under the channel's secret.
	SignatureHeader = "X-Hooklens-Signature-256"
	// TimestampHeader carries the signing time in Unix seconds; receivers
	// should refuse old ones (say, over 5 minutes) to stop replays.
	TimestampHeader = "X-Hooklens-Timestamp"
	// EventHeader carries Payload.Event; DeliveryHeader carries Payload.ID.
	EventHeader    = "X-Hooklens-Event"
	DeliveryHeader = "X-Hooklens-Delivery"
)

// userAgent identifies hooklens to receivers.
const userAgent = "hooklens-alerts/1"

// Sign returns the SignatureHeader value for body sent at timestamp (Unix
// seconds, as sent in TimestampHeader).
func Sign(secret []byte, timestamp string, body []byte) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(timestamp))
	m.Write([]byte{'.'})
	m.Write(body)
	return "sha256=" + hex.EncodeToString(m.Sum(nil))
}

// Delivery is the outcome of sending one notification to one channel. The
// last deliveries are kept in the alert's notification log.
type Delivery struct {
	At           time.Time `json:"at"`
	ChannelID    int       `json:"channelId"`
	Channel      string    `json:"channel"`
	Kind         string    `json:"kind"`
	Event        string    `json:"event"`
	Notification string    `json:"notification"`
	OK           bool      `json:"ok"`
	// Attempts made (1 when the first succeeded).
	Attempts int `json:"attempts"`
	// Status is the last HTTP status received (0 when none was).
	Status int `json:"status,omitempty"`
	// Error says why it failed, without the channel's URL or secret.
	Error      string  `json:"error,omitempty"`
	DurationMS float64 `json:"durationMs"`
}

// logKeep is how many deliveries an alert's notification log keeps.
const logKeep = 50

// maxParallel bounds deliveries in flight during one evaluation.
const maxParallel = 8

// payloadFor builds the payload of an alert's notification.
func (s *Service) payloadFor(a *ent.Alert, r *ent.AlertRule, event string, now time.Time) Payload {
	c, _ := conditionByName(string(r.Condition))
	status := "firing"
	if a.Status == entalert.StatusResolved {
		status = "resolved"
	}
	p := Payload{
		Version: PayloadVersion, ID: fmt.Sprintf("%d-%d", a.ID, a.Notifications), Event: event, Status: status,
		AlertID: a.ID, Rule: r.Key, RuleName: r.Name, Condition: string(r.Condition), Severity: string(a.Severity),
		Title: a.Title, Message: a.Message, Value: a.Value, Threshold: a.Threshold, Unit: c.Unit,
		StartedAt: a.StartedAt.UTC(), AcknowledgedAt: utcPtr(a.AcknowledgedAt), AcknowledgedBy: a.AcknowledgedBy,
		ResolvedAt: utcPtr(a.ResolvedAt), ResolvedBy: a.ResolvedBy, Notification: a.Notifications, SentAt: now.UTC(),
	}
	if s.opts.BaseURL != "" {
		p.URL = s.opts.BaseURL + "/alerts/" + strconv.Itoa(a.ID)
	}
	return p
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// deliver sends each notification to its channels, in parallel, records the
// outcomes on the alerts and channels, and returns them.
func (s *Service) deliver(ctx context.Context, notes []*notification) []Delivery {
	type job struct {
		note   *notification
		ch     *ent.AlertChannel
		outbox int // 0: none
	}
	var jobs []job
	for _, n := range notes {
		for i, ch := range n.channels {
			j := job{note: n, ch: ch}
			if i < len(n.outbox) {
				j.outbox = n.outbox[i]
			}
			jobs = append(jobs, j)
		}
	}
	if len(jobs) == 0 {
		return nil
	}
	results := make([]Delivery, len(jobs))
	sem := make(chan struct{}, maxParallel)
	var wg sync.WaitGroup
	for i, j := range jobs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			results[i] = s.send(ctx, j.ch, j.note.payload)
		}()
	}
	wg.Wait()

	// Record with a context of its own: the outcome is worth keeping even
	// when the evaluation's context ended during the deliveries.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	byAlert := map[int][]Delivery{}
	for i, j := range jobs {
		byAlert[j.note.alert.ID] = append(byAlert[j.note.alert.ID], results[i])
		s.recordChannel(rctx, results[i])
		if j.outbox != 0 {
			s.recordOutbox(rctx, j.outbox, results[i])
		}
	}
	for id, ds := range byAlert {
		if err := s.recordAlert(rctx, id, ds); err != nil {
			s.log.Warn("recording alert deliveries", "alert_id", id, "err", err)
		}
	}
	return results
}

// Test sends a test notification to a channel (enabled or not) and records
// the outcome as the channel's last success or failure.
func (s *Service) Test(ctx context.Context, channelID int) (Delivery, error) {
	ch, err := s.channel(ctx, channelID)
	if err != nil {
		return Delivery{}, err
	}
	now := s.opts.Now().UTC()
	p := Payload{
		Version: PayloadVersion, ID: fmt.Sprintf("test-%d-%d", ch.ID, now.UnixNano()), Event: EventTest, Status: "firing",
		Rule: "test", RuleName: "Test notification", Condition: "test", Severity: "info",
		Title:     "Test notification from hooklens",
		Message:   fmt.Sprintf("If you can read this, alerts reach channel %q.", ch.Name),
		StartedAt: now, Notification: 1, SentAt: now, URL: s.opts.BaseURL,
	}
	d := s.send(ctx, ch, p)
	s.recordChannel(context.WithoutCancel(ctx), d)
	return d, nil
}

// send delivers p to one channel, with retries. d is a named result so
// the deferred timing reaches the caller.
func (s *Service) send(ctx context.Context, ch *ent.AlertChannel, p Payload) (d Delivery) {
	start := time.Now()
	d = Delivery{At: p.SentAt, ChannelID: ch.ID, Channel: ch.Name, Kind: string(ch.Kind), Event: p.Event, Notification: p.ID}
	defer func() {
		d.DurationMS = float64(time.Since(start).Microseconds()) / 1000
		result := "ok"
		if !d.OK {
			result = "error"
		}
		s.sent.WithLabelValues(string(ch.Kind), result).Inc()
	}()
	if ch.Kind == alertchannel.KindLog {
		s.logNotification(ctx, p)
		d.OK, d.Attempts = true, 1
		return d
	}
	target, secret, err := s.openChannel(ch)
	if err != nil {
		d.Error = err.Error()
		return d
	}
	var body []byte
	if ch.Kind == alertchannel.KindSlack {
		body, err = json.Marshal(slackMessage(p))
	} else {
		body, err = json.Marshal(p)
	}
	if err != nil {
		d.Error = "encoding the payload: " + err.Error()
		return d
	}
	wait := s.opts.Backoff
	for attempt := 1; attempt <= s.opts.Attempts; attempt++ {
		d.Attempts = attempt
		status, retry, err := s.post(ctx, target, ch.Kind, p, body, secret)
		d.Status = status
		if err == nil {
			d.OK, d.Error = true, ""
			return d
		}
		d.Error = redact(err.Error(), target, secret)
		if !retry || attempt == s.opts.Attempts {
			break
		}
		select {
		case <-ctx.Done():
			d.Error += " (gave up: " + ctx.Err().Error() + ")"
			return d
		case <-time.After(wait):
		}
		wait *= 2
	}
	return d
}

// openChannel returns a channel's URL and secret in the clear, checking the
// URL against the current policy (the allow-list may have changed since it
// was saved).
func (s *Service) openChannel(ch *ent.AlertChannel) (*url.URL, []byte, error) {
	raw, err := s.openField(ch.URLSealed)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open the channel's sealed URL: %w", err)
	}
	u, err := s.checkURL(string(raw))
	if err != nil {
		return nil, nil, fmt.Errorf("the channel's URL is refused: %w", err)
	}
	secret, err := s.openField(ch.SecretSealed)
	if err != nil {
		return nil, nil, fmt.Errorf("cannot open the channel's sealed secret: %w", err)
	}
	return u, secret, nil
}

// post makes one attempt. retry says whether another may succeed: network
// errors, timeouts, 408, 429 and 5xx; not other 4xx, nor redirects (never
// followed, so a URL cannot bounce hooklens elsewhere).
func (s *Service) post(ctx context.Context, target *url.URL, kind alertchannel.Kind, p Payload, body, secret []byte) (int, bool, error) {
	ctx, cancel := context.WithTimeout(ctx, s.opts.Timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), bytes.NewReader(body))
	if err != nil {
		return 0, false, errors.New("cannot build the request")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", userAgent)
	if kind == alertchannel.KindWebhook {
		req.Header.Set(EventHeader, p.Event)
		req.Header.Set(DeliveryHeader, p.ID)
		if len(secret) > 0 {
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			req.Header.Set(TimestampHeader, ts)
			req.Header.Set(SignatureHeader, Sign(secret, ts, body))
		}
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return 0, true, describeError(err, s.opts.Timeout)
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	code := resp.StatusCode
	switch {
	case code >= 200 && code < 300:
		return code, false, nil
	case code >= 300 && code < 400:
		return code, false, fmt.Errorf("the receiver answered %d (a redirect; hooklens does not follow redirects)", code)
	}
	msg := fmt.Sprintf("the receiver answered %d", code)
	if e := strings.TrimSpace(strings.ToValidUTF8(string(excerpt), "")); e != "" {
		msg += ": " + clip(e, 200)
	}
	retry := code >= 500 || code == http.StatusTooManyRequests || code == http.StatusRequestTimeout
	return code, retry, errors.New(msg)
}

// describeError says what went wrong with a request without the URL that
// *url.Error carries.
func describeError(err error, timeout time.Duration) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, errBlockedAddr) {
		return errBlockedAddr
	}
	var ne net.Error
	if errors.Is(err, context.DeadlineExceeded) || (errors.As(err, &ne) && ne.Timeout()) {
		return fmt.Errorf("no answer within %s", timeout)
	}
	return err
}

// redact removes the channel's URL, its path and query, and its secret
// from msg, in case a layer below echoed them.
func redact(msg string, target *url.URL, secret []byte) string {
	if target != nil {
		for _, s := range []string{target.String(), target.RequestURI(), target.RawQuery, target.User.String()} {
			if len(s) > 1 {
				msg = strings.ReplaceAll(msg, s, "[redacted]")
			}
		}
	}
	if len(secret) > 0 {
		msg = strings.ReplaceAll(msg, string(secret), "[redacted]")
	}
	return msg
}

func newHTTPClient(timeout time.Duration) *http.Client {
	dialer := &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: dialControl}
	return &http.Client{
		Transport: &http.Transport{
			Proxy:                 http.ProxyFromEnvironment,
			DialContext:           dialer.DialContext,
			TLSHandshakeTimeout:   timeout,
			ResponseHeaderTimeout: timeout,
			MaxIdleConnsPerHost:   2,
			IdleConnTimeout:       90 * time.Second,
			ForceAttemptHTTP2:     true,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// logNotification is the log channel: one structured line per notification.
func (s *Service) logNotification(ctx context.Context, p Payload) {
	level := slog.LevelInfo
	if p.Status == "firing" && p.Event != EventTest {
		switch p.Severity {
		case "critical":
			level = slog.LevelError
		case "warning":
			level = slog.LevelWarn
		}
	}
	attrs := []any{"event", p.Event, "alert_id", p.AlertID, "rule", p.Rule, "severity", p.Severity,
		"status", p.Status, "title", p.Title, "message", p.Message}
	if p.Value != nil {
		attrs = append(attrs, "value", *p.Value)
	}
	if p.Threshold != nil {
		attrs = append(attrs, "threshold", *p.Threshold)
	}
	if p.URL != "" {
		attrs = append(attrs, "url", p.URL)
	}
	s.log.Log(ctx, level, "alert "+p.Status, attrs...)
}

// recordChannel keeps a delivery's outcome on its channel.
func (s *Service) recordChannel(ctx context.Context, d Delivery) {
	upd := s.client.AlertChannel.UpdateOneID(d.ChannelID)
	if d.OK {
		upd.SetLastSuccessAt(d.At.UTC())
	} else {
		upd.SetLastFailureAt(d.At.UTC()).SetLastError(clip(d.Error, 500))
	}
	if err := upd.Exec(ctx); err != nil && !ent.IsNotFound(err) {
		s.log.Warn("recording a channel's delivery", "channel_id", d.ChannelID, "err", err)
	}
}

// recordAlert appends deliveries to an alert's notification log, keeping
// the latest logKeep.
func (s *Service) recordAlert(ctx context.Context, alertID int, ds []Delivery) error {
	var saved *ent.Alert
	err := s.withTx(ctx, func(tx *ent.Tx) error {
		q := tx.Alert.Query().Where(entalert.ID(alertID))
		if s.db.Postgres() {
			q = q.ForUpdate()
		}
		a, err := q.Only(ctx)
		if ent.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		entries := a.NotificationLog
		for _, d := range ds {
			raw, err := json.Marshal(d)
			if err != nil {
				return err
			}
			var m map[string]any
			if err := json.Unmarshal(raw, &m); err != nil {
				return err
			}
			entries = append(entries, m)
		}
		if len(entries) > logKeep {
			entries = entries[len(entries)-logKeep:]
		}
		saved, err = tx.Alert.UpdateOne(a).SetNotificationLog(entries).Save(ctx)
		return err
	})
	if err == nil && saved != nil {
		// Pages showing the alert reload it: its log has new lines.
		s.publish(ctx, saved, eventNotified)
	}
	return err
}

// NotificationLog returns an alert's recorded deliveries, oldest first.
func NotificationLog(a *ent.Alert) []Delivery {
	out := make([]Delivery, 0, len(a.NotificationLog))
	for _, m := range a.NotificationLog {
		raw, err := json.Marshal(m)
		if err != nil {
			continue
		}
		var d Delivery
		if json.Unmarshal(raw, &d) == nil {
			out = append(out, d)
		}
	}
	return out
}
