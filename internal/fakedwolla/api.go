package fakedwolla

import (
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/hooklens/hooklens/internal/dwolla"
)

// Content types of Dwolla's answers (REFERENCE.md §4).
const (
	halType   = dwolla.MediaType + "; charset=UTF-8"
	errorType = dwolla.MediaType + `; profile="http://nocarrier.co.uk/profiles/vnd.error/"`
)

// maxPageSize caps limit, as Dwolla's other list endpoints do.
const maxPageSize = 200

// idemEntry remembers the answer to a POST with an Idempotency-Key.
type idemEntry struct {
	location string
	expires  time.Time
}

// burst is a run of injected failures.
type burst struct {
	status     int
	remaining  int
	retryAfter time.Duration
}

// forcedFailure is one FailNext order.
type forcedFailure struct {
	status     int
	retryAfter time.Duration
}

// RequestRecord is one API request the fake answered.
type RequestRecord struct {
	Method string
	Path   string
	Status int
}

// apiError is Dwolla's vnd.error body.
type apiError struct {
	Code     string `json:"code"`
	Message  string `json:"message"`
	Embedded *struct {
		Errors []fieldError `json:"errors"`
	} `json:"_embedded,omitempty"`
}

type fieldError struct {
	Code    string          `json:"code"`
	Message string          `json:"message"`
	Path    string          `json:"path"`
	Links   map[string]link `json:"_links"`
}

// statusWriter remembers the status for the request log.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

// ServeHTTP answers Dwolla's API.
func (f *Fake) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	w := &statusWriter{ResponseWriter: rw}
	w.Header().Set("X-Request-ID", f.noiseID())
	w.Header().Set("CF-RAY", strings.ReplaceAll(f.noiseID(), "-", "")[:16]+"-ORD")
	defer func() {
		f.mu.Lock()
		f.requests = append(f.requests, RequestRecord{Method: r.Method, Path: r.URL.Path, Status: w.status})
		f.mu.Unlock()
	}()
	path := strings.TrimRight(r.URL.Path, "/")
	if path == "/token" {
		if r.Method != http.MethodPost {
			writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "Method not allowed.")
			return
		}
		f.serveToken(w, r)
		return
	}
	if !acceptsHAL(r.Header.Get("Accept")) {
		writeError(w, http.StatusNotAcceptable, "InvalidVersion", "Missing or invalid API version.")
		return
	}
	if code, msg := f.checkToken(r); code != "" {
		writeError(w, http.StatusUnauthorized, code, msg)
		return
	}
	if f.injectFault(w) {
		return
	}
	seg := strings.Split(strings.TrimPrefix(path, "/"), "/")
	route := func(methods map[string]http.HandlerFunc) {
		if h, ok := methods[r.Method]; ok {
			h(w, r)
			return
		}
		allow := make([]string, 0, len(methods))
		for m := range methods {
			allow = append(allow, m)
		}
		w.Header().Set("Allow", strings.Join(allow, ", "))
		writeError(w, http.StatusMethodNotAllowed, "MethodNotAllowed", "Method not allowed.")
	}
	switch {
	case len(seg) == 1 && seg[0] == "events":
		route(map[string]http.HandlerFunc{http.MethodGet: f.listEvents})
	case len(seg) == 2 && seg[0] == "events":
		route(map[string]http.HandlerFunc{http.MethodGet: func(w http.ResponseWriter, r *http.Request) { f.getEvent(w, seg[1]) }})
	case len(seg) == 1 && seg[0] == "webhook-subscriptions":
		route(map[string]http.HandlerFunc{http.MethodGet: f.listSubscriptions, http.MethodPost: f.createSubscription})
	case len(seg) == 2 && seg[0] == "webhook-subscriptions":
		route(map[string]http.HandlerFunc{
			http.MethodGet:    func(w http.ResponseWriter, r *http.Request) { f.getSubscription(w, seg[1]) },
			http.MethodPost:   func(w http.ResponseWriter, r *http.Request) { f.updateSubscription(w, r, seg[1]) },
			http.MethodDelete: func(w http.ResponseWriter, r *http.Request) { f.deleteSubscription(w, seg[1]) },
		})
	case len(seg) == 3 && seg[0] == "webhook-subscriptions" && seg[2] == "webhooks":
		route(map[string]http.HandlerFunc{http.MethodGet: func(w http.ResponseWriter, r *http.Request) { f.listWebhooks(w, r, seg[1]) }})
	case len(seg) == 2 && seg[0] == "webhooks":
		route(map[string]http.HandlerFunc{http.MethodGet: func(w http.ResponseWriter, r *http.Request) { f.getWebhook(w, seg[1]) }})
	case len(seg) == 3 && seg[0] == "webhooks" && seg[2] == "retries":
		route(map[string]http.HandlerFunc{
			http.MethodGet:  func(w http.ResponseWriter, r *http.Request) { f.listRetries(w, seg[1]) },
			http.MethodPost: func(w http.ResponseWriter, r *http.Request) { f.createRetry(w, r, seg[1]) },
		})
	case f.routeResources(w, r, seg, route):
	default:
		writeError(w, http.StatusNotFound, "NotFound", "The requested resource was not found.")
	}
}

func acceptsHAL(accept string) bool {
	for _, part := range strings.Split(accept, ",") {
		mt := strings.TrimSpace(strings.SplitN(part, ";", 2)[0])
		if strings.EqualFold(mt, dwolla.MediaType) {
			return true
		}
	}
	return false
}

func writeJSON(w http.ResponseWriter, status int, contentType string, v any) {
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}

func writeHAL(w http.ResponseWriter, status int, v any) { writeJSON(w, status, halType, v) }

func writeError(w http.ResponseWriter, status int, code, message string) {
	writeJSON(w, status, errorType, apiError{Code: code, Message: message})
}

func writeValidation(w http.ResponseWriter, errs ...fieldError) {
	for i := range errs {
		if errs[i].Links == nil {
			errs[i].Links = map[string]link{}
		}
	}
	body := apiError{Code: "ValidationError", Message: "Validation error(s) present. See embedded errors list for more details."}
	body.Embedded = &struct {
		Errors []fieldError `json:"errors"`
	}{errs}
	writeJSON(w, http.StatusBadRequest, errorType, body)
}

// serveToken is POST /token: client credentials in Basic auth (or, as
// Dwolla's Node SDK sends them, in the form).
func (f *Fake) serveToken(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	key, secret, ok := r.BasicAuth()
	if !ok {
		key, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	if r.PostForm.Get("grant_type") != "client_credentials" {
		writeJSON(w, http.StatusBadRequest, "application/json", map[string]string{"error": "unsupported_grant_type"})
		return
	}
	if f.opts.Key == "" || !equal(key, f.opts.Key) || !equal(secret, f.opts.Secret) {
		writeJSON(w, http.StatusUnauthorized, "application/json", map[string]string{"error": "invalid_client"})
		return
	}
	tok := strings.ReplaceAll(f.noiseID()+f.noiseID(), "-", "")
	f.mu.Lock()
	f.tokens[tok] = time.Now().Add(f.opts.TokenTTL)
	f.mu.Unlock()
	secs := int64(f.opts.TokenTTL.Round(time.Second) / time.Second)
	w.Header().Set("Cache-Control", "no-store")
	writeJSON(w, http.StatusOK, "application/json", map[string]any{
		"access_token": tok, "token_type": "bearer", "expires_in": secs,
	})
}

func equal(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// checkToken returns Dwolla's error code and message for a bad bearer token.
func (f *Fake) checkToken(r *http.Request) (string, string) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "Bearer ") {
		return "InvalidCredentials", "Missing or invalid Authorization header."
	}
	f.mu.Lock()
	exp, ok := f.tokens[strings.TrimSpace(h[7:])]
	f.mu.Unlock()
	switch {
	case !ok:
		return "InvalidAccessToken", "Invalid access token."
	case !time.Now().Before(exp):
		return "ExpiredAccessToken", "Expired access token."
	}
	return "", ""
}

// ExpireTokens makes every issued access token expired, so the next call
// of each client gets 401 ExpiredAccessToken.
func (f *Fake) ExpireTokens() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for t := range f.tokens {
		f.tokens[t] = time.Now().Add(-time.Second)
	}
}

// FailNext makes the next n API requests (not /token) fail with status:
// 429 answers carry Retry-After of retryAfter (rounded up to seconds).
func (f *Fake) FailNext(status, n int, retryAfter time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	for i := 0; i < n; i++ {
		f.failNext = append(f.failNext, forcedFailure{status: status, retryAfter: retryAfter})
	}
}

// injectFault answers with an injected failure, or delays the answer,
// and reports whether it answered.
func (f *Fake) injectFault(w http.ResponseWriter) bool {
	fl := f.opts.Faults
	f.mu.Lock()
	var ff *forcedFailure
	switch {
	case len(f.failNext) > 0:
		ff = &f.failNext[0]
		f.failNext = f.failNext[1:]
	case f.burst.remaining > 0:
		f.burst.remaining--
		ff = &forcedFailure{status: f.burst.status, retryAfter: f.burst.retryAfter}
	}
	f.mu.Unlock()
	if ff == nil {
		switch {
		case f.apiFaults.chance(fl.API429):
			ff = &forcedFailure{status: http.StatusTooManyRequests, retryAfter: fl.RetryAfter}
		case f.apiFaults.chance(fl.API500):
			ff = &forcedFailure{status: http.StatusInternalServerError}
		}
		if ff != nil {
			f.mu.Lock()
			f.burst = burst{status: ff.status, remaining: fl.BurstLength - 1, retryAfter: ff.retryAfter}
			f.mu.Unlock()
		}
	}
	if ff == nil {
		if f.apiFaults.chance(fl.Slow) {
			time.Sleep(fl.SlowDelay)
		}
		return false
	}
	f.mu.Lock()
	f.stats.InjectedErrors++
	f.mu.Unlock()
	switch ff.status {
	case http.StatusTooManyRequests:
		secs := int64((ff.retryAfter + time.Second - 1) / time.Second)
		w.Header().Set("Retry-After", strconv.FormatInt(secs, 10))
		writeError(w, ff.status, "TooManyRequests", "Too many requests. Please retry later.")
	case http.StatusInternalServerError:
		writeError(w, ff.status, "ServerError", "A server error occurred. Error ID: "+f.noiseID()+".")
	default:
		writeError(w, ff.status, strings.ReplaceAll(http.StatusText(ff.status), " ", ""), http.StatusText(ff.status)+".")
	}
	return true
}

// halLink is a link as Dwolla writes them in API answers.
func (f *Fake) halLink(path, resourceType string) dwolla.Link {
	return dwolla.Link{Href: f.opts.BaseURL + path, Type: dwolla.MediaType, ResourceType: resourceType}
}

// pageParams reads limit and offset, writing a 400 for bad ones.
func pageParams(w http.ResponseWriter, q url.Values) (limit, offset int, ok bool) {
	limit, offset = dwolla.DefaultPageSize, 0
	var errs []fieldError
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			errs = append(errs, fieldError{Code: "InvalidFormat", Message: "Limit must be a positive integer.", Path: "/limit"})
		} else {
			limit = min(n, maxPageSize)
		}
	}
	if v := q.Get("offset"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			errs = append(errs, fieldError{Code: "InvalidFormat", Message: "Offset must be a non-negative integer.", Path: "/offset"})
		} else {
			offset = n
		}
	}
	if len(errs) > 0 {
		writeValidation(w, errs...)
		return 0, 0, false
	}
	return limit, offset, true
}

// pageLinks are self, first, last, and next/prev when they exist.
func (f *Fake) pageLinks(path string, extra url.Values, limit, offset, total int, rt string) map[string]dwolla.Link {
	at := func(off int) dwolla.Link {
		q := url.Values{}
		for k, v := range extra {
			q[k] = v
		}
		q.Set("limit", strconv.Itoa(limit))
		q.Set("offset", strconv.Itoa(off))
		return f.halLink(path+"?"+q.Encode(), rt)
	}
	last := 0
	if total > 0 {
		last = (total - 1) / limit * limit
	}
	links := map[string]dwolla.Link{"self": at(offset), "first": at(0), "last": at(last)}
	if offset+limit < total {
		links["next"] = at(offset + limit)
	}
	if offset > 0 {
		links["prev"] = at(max(0, offset-limit))
	}
	return links
}

func (f *Fake) listEvents(w http.ResponseWriter, r *http.Request) {
	limit, offset, ok := pageParams(w, r.URL.Query())
	if !ok {
		return
	}
	f.mu.Lock()
	all := f.visibleEvents(time.Now())
	total := len(all)
	var page []json.RawMessage
	for i := offset; i < total && i < offset+limit; i++ {
		page = append(page, all[i].Body)
	}
	f.mu.Unlock()
	if page == nil {
		page = []json.RawMessage{}
	}
	writeHAL(w, http.StatusOK, map[string]any{
		"_links":    f.pageLinks("/events", nil, limit, offset, total, "event"),
		"_embedded": map[string]any{"events": page},
		"total":     total,
	})
}

func (f *Fake) getEvent(w http.ResponseWriter, id string) {
	f.mu.Lock()
	ev, ok := f.eventIdx[strings.ToLower(id)]
	if !ok {
		ev, ok = f.eventIdx[id]
	}
	visible := ok && !ev.Created.Before(time.Now().Add(-dwolla.EventRetention))
	f.mu.Unlock()
	if !visible {
		writeError(w, http.StatusNotFound, "NotFound", "Application event not found.")
		return
	}
	w.Header().Set("Content-Type", halType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(ev.Body)
}

// subscriptionView is the API shape of a subscription: never the secret.
func (f *Fake) subscriptionView(s *subscription) dwolla.WebhookSubscription {
	return dwolla.WebhookSubscription{
		Links: map[string]dwolla.Link{
			"self":     f.halLink("/webhook-subscriptions/"+s.id, "webhook-subscription"),
			"webhooks": f.halLink("/webhook-subscriptions/"+s.id+"/webhooks", "webhook"),
		},
		ID: s.id, URL: s.url, Paused: s.paused, Created: s.created.UTC().Truncate(time.Millisecond),
	}
}

func (f *Fake) listSubscriptions(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	views := make([]dwolla.WebhookSubscription, 0, len(f.subs))
	for _, s := range f.subs {
		views = append(views, f.subscriptionView(s))
	}
	f.mu.Unlock()
	writeHAL(w, http.StatusOK, map[string]any{
		"_links":    map[string]dwolla.Link{"self": f.halLink("/webhook-subscriptions", "webhook-subscription")},
		"_embedded": map[string]any{"webhook-subscriptions": views},
		"total":     len(views),
	})
}

// readJSON decodes a small JSON request body, writing a 400 on failure.
func readJSON(w http.ResponseWriter, r *http.Request, v any) bool {
	raw, err := io.ReadAll(io.LimitReader(r.Body, 64<<10))
	if err == nil {
		err = json.Unmarshal(raw, v)
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "BadRequest", "The request body contains bad syntax or is incomplete.")
		return false
	}
	return true
}

// idempotent answers a repeated POST with its first answer. It reports
// whether it answered.
func (f *Fake) idempotent(w http.ResponseWriter, r *http.Request) bool {
	key := r.Header.Get("Idempotency-Key")
	if key == "" {
		return false
	}
	f.mu.Lock()
	e, ok := f.idem[r.URL.Path+"\x00"+key]
	f.mu.Unlock()
	if !ok || time.Now().After(e.expires) {
		return false
	}
	w.Header().Set("Location", e.location)
	w.WriteHeader(http.StatusCreated)
	return true
}

// remember stores a POST's answer under its Idempotency-Key for 24 h.
// Called with mu held.
func (f *Fake) remember(r *http.Request, location string) {
	if key := r.Header.Get("Idempotency-Key"); key != "" {
		f.idem[r.URL.Path+"\x00"+key] = idemEntry{location: location, expires: time.Now().Add(24 * time.Hour)}
	}
}

func (f *Fake) createSubscription(w http.ResponseWriter, r *http.Request) {
	if f.idempotent(w, r) {
		return
	}
	var in struct {
		URL    *string `json:"url"`
		Secret *string `json:"secret"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	var errs []fieldError
	switch {
	case in.URL == nil || *in.URL == "":
		errs = append(errs, fieldError{Code: "Required", Message: "Url required.", Path: "/url"})
	default:
		u, err := url.Parse(*in.URL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			errs = append(errs, fieldError{Code: "InvalidFormat", Message: "Url invalid.", Path: "/url"})
		}
	}
	switch {
	case in.Secret == nil || *in.Secret == "":
		errs = append(errs, fieldError{Code: "Required", Message: "Secret required.", Path: "/secret"})
	case len(*in.Secret) > dwolla.MaxSecretLength:
		errs = append(errs, fieldError{Code: "InvalidFormat", Message: fmt.Sprintf("Secret must be no more than %d characters.", dwolla.MaxSecretLength), Path: "/secret"})
	}
	if len(errs) > 0 {
		writeValidation(w, errs...)
		return
	}
	f.mu.Lock()
	if len(f.subs) >= f.subscriptionLimit() {
		f.mu.Unlock()
		writeError(w, http.StatusBadRequest, "MaxNumberOfResources", "Max number of subscriptions reached.")
		return
	}
	s := &subscription{id: f.newID(), url: *in.URL, secret: *in.Secret, created: time.Now()}
	f.subs = append(f.subs, s)
	loc := f.opts.BaseURL + "/webhook-subscriptions/" + s.id
	f.remember(r, loc)
	f.mu.Unlock()
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusCreated)
}

func (f *Fake) getSubscription(w http.ResponseWriter, id string) {
	f.mu.Lock()
	s := f.findSub(id)
	var view dwolla.WebhookSubscription
	if s != nil {
		view = f.subscriptionView(s)
	}
	f.mu.Unlock()
	if s == nil {
		writeError(w, http.StatusNotFound, "NotFound", "Webhook subscription not found.")
		return
	}
	writeHAL(w, http.StatusOK, view)
}

func (f *Fake) updateSubscription(w http.ResponseWriter, r *http.Request, id string) {
	var in struct {
		Paused *bool `json:"paused"`
	}
	if !readJSON(w, r, &in) {
		return
	}
	if in.Paused == nil {
		writeValidation(w, fieldError{Code: "Required", Message: "Paused required.", Path: "/paused"})
		return
	}
	f.mu.Lock()
	s := f.findSub(id)
	var view dwolla.WebhookSubscription
	if s != nil {
		if s.paused && !*in.Paused {
			// A fresh start for auto-pause; paused webhooks stay unsent.
			s.consecutiveFailures = 0
			s.lastSuccess = time.Now()
		}
		s.paused = *in.Paused
		view = f.subscriptionView(s)
	}
	f.mu.Unlock()
	if s == nil {
		writeError(w, http.StatusNotFound, "NotFound", "Webhook subscription not found.")
		return
	}
	writeHAL(w, http.StatusOK, view)
}

func (f *Fake) deleteSubscription(w http.ResponseWriter, id string) {
	f.mu.Lock()
	s := f.findSub(id)
	var view dwolla.WebhookSubscription
	if s != nil {
		view = f.subscriptionView(s)
		s.deleted = true
		for i, x := range f.subs {
			if x == s {
				f.subs = append(f.subs[:i], f.subs[i+1:]...)
				break
			}
		}
		// Deleting a subscription erases its webhook data.
		for _, wh := range s.webhooks {
			delete(f.webhooks, wh.id)
		}
		s.webhooks = nil
	}
	f.mu.Unlock()
	if s == nil {
		writeError(w, http.StatusNotFound, "NotFound", "Webhook subscription not found.")
		return
	}
	writeHAL(w, http.StatusOK, view)
}

// webhookView is the API shape of a webhook.
func (f *Fake) webhookView(wh *webhook) dwolla.Webhook {
	attempts := append([]dwolla.WebhookAttempt{}, wh.attempts...)
	return dwolla.Webhook{
		Links: map[string]dwolla.Link{
			"self":         f.halLink("/webhooks/"+wh.id, "webhook"),
			"subscription": f.halLink("/webhook-subscriptions/"+wh.sub.id, "webhook-subscription"),
			"retry":        f.halLink("/webhooks/"+wh.id+"/retries", "retry"),
			"event":        f.halLink("/events/"+wh.event.ID, "event"),
		},
		ID: wh.id, Topic: wh.event.Topic, AccountID: f.opts.AccountID, EventID: wh.event.ID,
		SubscriptionID: wh.sub.id, Attempts: attempts,
	}
}

func parseDate(w http.ResponseWriter, q url.Values, name string) (time.Time, bool) {
	v := q.Get(name)
	if v == "" {
		return time.Time{}, true
	}
	t, err := time.Parse(dwolla.DateFormat, v)
	if err != nil {
		writeValidation(w, fieldError{Code: "InvalidFormat", Message: name + " must be a date like 2024-01-31.", Path: "/" + name})
		return time.Time{}, false
	}
	return t, true
}

func (f *Fake) listWebhooks(w http.ResponseWriter, r *http.Request, id string) {
	q := r.URL.Query()
	limit, offset, ok := pageParams(w, q)
	if !ok {
		return
	}
	start, ok := parseDate(w, q, "startDate")
	if !ok {
		return
	}
	end, ok := parseDate(w, q, "endDate")
	if !ok {
		return
	}
	f.mu.Lock()
	s := f.findSub(id)
	if s == nil {
		f.mu.Unlock()
		writeError(w, http.StatusNotFound, "NotFound", "Webhook subscription not found.")
		return
	}
	all := filterWebhooks(s, time.Now(), start, end, q.Get("resourceId"))
	views := []dwolla.Webhook{}
	for i := offset; i < len(all) && i < offset+limit; i++ {
		views = append(views, f.webhookView(all[i]))
	}
	f.mu.Unlock()
	extra := url.Values{}
	for _, k := range []string{"startDate", "endDate", "resourceId"} {
		if v := q.Get(k); v != "" {
			extra.Set(k, v)
		}
	}
	writeHAL(w, http.StatusOK, map[string]any{
		"_links":    f.pageLinks("/webhook-subscriptions/"+id+"/webhooks", extra, limit, offset, len(all), "webhook"),
		"_embedded": map[string]any{"webhooks": views},
		"total":     len(all),
	})
}

func (f *Fake) getWebhook(w http.ResponseWriter, id string) {
	f.mu.Lock()
	wh, ok := f.webhooks[id]
	var view dwolla.Webhook
	if ok {
		view = f.webhookView(wh)
	}
	f.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "NotFound", "Webhook not found.")
		return
	}
	writeHAL(w, http.StatusOK, view)
}

func (f *Fake) createRetry(w http.ResponseWriter, r *http.Request, id string) {
	if f.idempotent(w, r) {
		return
	}
	f.mu.Lock()
	wh, ok := f.webhooks[id]
	if !ok {
		f.mu.Unlock()
		writeError(w, http.StatusNotFound, "NotFound", "Webhook not found.")
		return
	}
	rt := dwolla.WebhookRetry{ID: f.noiseID(), Timestamp: time.Now().UTC().Truncate(time.Millisecond)}
	rt.Links = map[string]dwolla.Link{
		"self":    f.halLink("/webhooks/"+wh.id+"/retries/"+rt.ID, "retry"),
		"webhook": f.halLink("/webhooks/"+wh.id, "webhook"),
	}
	wh.retries = append(wh.retries, rt)
	f.stats.ManualRetries++
	f.enqueue(job{w: wh, kind: jobManual, due: time.Now()})
	loc := rt.Links["self"].Href
	f.remember(r, loc)
	f.mu.Unlock()
	w.Header().Set("Location", loc)
	w.WriteHeader(http.StatusCreated)
}

func (f *Fake) listRetries(w http.ResponseWriter, id string) {
	f.mu.Lock()
	wh, ok := f.webhooks[id]
	var retries []dwolla.WebhookRetry
	if ok {
		retries = append([]dwolla.WebhookRetry{}, wh.retries...)
	}
	f.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "NotFound", "Webhook not found.")
		return
	}
	writeHAL(w, http.StatusOK, map[string]any{
		"_links":    map[string]dwolla.Link{"self": f.halLink("/webhooks/"+id+"/retries", "retry")},
		"_embedded": map[string]any{"retries": retries},
		"total":     len(retries),
	})
}
