package auth

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/hooklens/hooklens/internal/web"
)

// Cookie and header names of the dashboard session.
const (
	SessionCookie = "hooklens_session"
	CSRFCookie    = "hooklens_csrf"
	CSRFHeader    = "X-CSRF-Token"
)

// Authenticator is the HTTP side of the Service.
type Authenticator struct {
	svc    *Service
	log    *slog.Logger
	secure bool // set the Secure attribute on cookies (HTTPS deployments)

	attempts AttemptLimiter
	onSignIn func(r *http.Request, p *Principal, err error)
}

// AttemptLimiter limits failed authentications (sign-ins and bad bearer
// tokens) per client address. netguard.Attempts implements it.
type AttemptLimiter interface {
	// Allow reports whether key may try now, and if not, how long to wait.
	Allow(key string) (bool, time.Duration)
	// Failed records a failed attempt by key.
	Failed(key string)
}

// LimitAttempts makes failed sign-ins and bad bearer tokens count against
// the client's address; an address over the limit gets 429 with
// Retry-After until it may try again. Call it before serving.
func (a *Authenticator) LimitAttempts(l AttemptLimiter) { a.attempts = l }

// OnSignIn registers fn to run after every sign-in attempt through the
// session endpoint, with the principal (nil on failure) and the error (nil
// on success). The audit trail uses it. Call it before serving.
func (a *Authenticator) OnSignIn(fn func(r *http.Request, p *Principal, err error)) { a.onSignIn = fn }

// ErrTooManyAttempts means the client failed to authenticate too often.
var ErrTooManyAttempts = errors.New("too many failed attempts to authenticate from this address; wait before trying again")

// tooMany carries the wait of ErrTooManyAttempts.
type tooMany struct{ wait time.Duration }

func (t *tooMany) Error() string { return ErrTooManyAttempts.Error() }
func (t *tooMany) Unwrap() error { return ErrTooManyAttempts }

// checkAttempts refuses a client that failed too often.
func (a *Authenticator) checkAttempts(r *http.Request) error {
	if a.attempts == nil {
		return nil
	}
	if ok, wait := a.attempts.Allow(web.ClientIP(r)); !ok {
		return &tooMany{wait: wait}
	}
	return nil
}

// noteFailure charges a failed authentication to the client.
func (a *Authenticator) noteFailure(r *http.Request, err error) {
	if a.attempts != nil && (errors.Is(err, ErrInvalidToken) || errors.Is(err, ErrInvalidSession)) {
		a.attempts.Failed(web.ClientIP(r))
	}
}

// NewAuthenticator returns HTTP handlers and middleware over svc. secure
// marks cookies Secure, for deployments behind HTTPS.
func NewAuthenticator(svc *Service, log *slog.Logger, secure bool) *Authenticator {
	return &Authenticator{svc: svc, log: log, secure: secure}
}

// Service returns the underlying Service.
func (a *Authenticator) Service() *Service { return a.svc }

// resolve finds the principal of r, if any: a bearer token first, else the
// session cookie. A cookie-authenticated request with an unsafe method must
// carry the session's CSRF token.
func (a *Authenticator) resolve(r *http.Request) (*Principal, error) {
	if h := r.Header.Get("Authorization"); h != "" {
		if err := a.checkAttempts(r); err != nil {
			return nil, err
		}
		scheme, tok, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") {
			a.noteFailure(r, ErrInvalidToken)
			return nil, ErrInvalidToken
		}
		p, err := a.svc.Authenticate(r.Context(), strings.TrimSpace(tok))
		a.noteFailure(r, err)
		return p, err
	}
	c, err := r.Cookie(SessionCookie)
	if err != nil || c.Value == "" {
		return nil, ErrUnauthenticated
	}
	// A forged or guessed session id is a failed authentication like a bad
	// token.
	if err := a.checkAttempts(r); err != nil {
		return nil, err
	}
	p, err := a.svc.SessionPrincipal(r.Context(), c.Value)
	if err != nil {
		a.noteFailure(r, err)
		return nil, err
	}
	if unsafeMethod(r.Method) && !web.IsWebsocket(r) && !p.CheckCSRF(r.Header.Get(CSRFHeader)) {
		return nil, ErrBadCSRF
	}
	return p, nil
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}

// Require rejects requests without a valid principal (401) and, when admin
// is set, those whose principal is not an admin (403).
func (a *Authenticator) Require(admin bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p, err := a.resolve(r)
			if err != nil {
				if errors.Is(err, ErrInvalidSession) {
					// A stale cookie is dropped, so one browser tab is not
					// charged failure after failure for it.
					a.clearCookies(w)
				}
				a.writeError(w, r, err)
				return
			}
			if admin && !p.IsAdmin() {
				a.writeError(w, r, ErrForbidden)
				return
			}
			next.ServeHTTP(w, r.WithContext(WithPrincipal(r.Context(), p)))
		})
	}
}

// Optional attaches a principal when the request has valid credentials and
// passes the request on either way. Websocket upgrades use it: they may
// authenticate later, in the connection_init payload.
func (a *Authenticator) Optional(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if p, err := a.resolve(r); err == nil {
			r = r.WithContext(WithPrincipal(r.Context(), p))
		}
		next.ServeHTTP(w, r)
	})
}

func (a *Authenticator) writeError(w http.ResponseWriter, r *http.Request, err error) {
	var many *tooMany
	switch {
	case errors.As(err, &many):
		w.Header().Set("Retry-After", strconv.FormatInt(int64(math.Max(1, math.Ceil(many.wait.Seconds()))), 10))
		web.Error(w, r, http.StatusTooManyRequests, "rate_limited", err.Error())
	case errors.Is(err, ErrForbidden):
		web.Error(w, r, http.StatusForbidden, "forbidden", err.Error())
	case errors.Is(err, ErrBadCSRF):
		web.Error(w, r, http.StatusForbidden, "csrf", err.Error())
	case errors.Is(err, ErrUnauthenticated), errors.Is(err, ErrInvalidToken), errors.Is(err, ErrInvalidSession):
		w.Header().Set("WWW-Authenticate", `Bearer realm="hooklens"`)
		web.Error(w, r, http.StatusUnauthorized, "unauthenticated", err.Error())
	default:
		a.log.Error("authenticating request", "err", err, "request_id", web.RequestID(r.Context()))
		web.Error(w, r, http.StatusServiceUnavailable, "unavailable", "cannot check credentials right now")
	}
}

// sessionResponse is what the session endpoint answers.
type sessionResponse struct {
	Name      string    `json:"name"`
	Role      Role      `json:"role"`
	CSRFToken string    `json:"csrfToken,omitempty"`
	ExpiresAt time.Time `json:"expiresAt,omitzero"`
}

// SessionHandler serves /api/session: POST {"token": "..."} signs in and sets
// the HttpOnly, SameSite=Strict session cookie; GET says who is signed in;
// DELETE signs out.
func (a *Authenticator) SessionHandler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.Method {
		case http.MethodPost:
			a.signIn(w, r)
		case http.MethodGet:
			p, err := a.resolve(r)
			if err != nil {
				if errors.Is(err, ErrInvalidSession) {
					a.clearCookies(w)
				}
				a.writeError(w, r, err)
				return
			}
			web.JSON(w, http.StatusOK, sessionResponse{Name: p.TokenName, Role: p.Role, CSRFToken: p.CSRF()})
		case http.MethodDelete:
			a.signOut(w, r)
		default:
			w.Header().Set("Allow", "GET, POST, DELETE")
			web.Error(w, r, http.StatusMethodNotAllowed, "method_not_allowed", "use GET, POST or DELETE")
		}
	})
}

func (a *Authenticator) signIn(w http.ResponseWriter, r *http.Request) {
	var body struct {
		Token string `json:"token"`
	}
	if err := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096)).Decode(&body); err != nil || body.Token == "" {
		web.Error(w, r, http.StatusBadRequest, "bad_request", `send {"token": "<api token>"}`)
		return
	}
	if err := a.checkAttempts(r); err != nil {
		a.writeError(w, r, err)
		return
	}
	s, err := a.svc.CreateSession(r.Context(), strings.TrimSpace(body.Token), web.ClientIP(r), r.UserAgent())
	if a.onSignIn != nil {
		var p *Principal
		if s != nil {
			p = s.Principal
		}
		a.onSignIn(r, p, err)
	}
	if err != nil {
		a.noteFailure(r, err)
		a.writeError(w, r, err)
		return
	}
	http.SetCookie(w, &http.Cookie{
		Name: SessionCookie, Value: s.ID, Path: "/", Expires: s.ExpiresAt,
		HttpOnly: true, Secure: a.secure, SameSite: http.SameSiteStrictMode,
	})
	// Readable by the dashboard's script, which echoes it in X-CSRF-Token.
	http.SetCookie(w, &http.Cookie{
		Name: CSRFCookie, Value: s.CSRF, Path: "/", Expires: s.ExpiresAt,
		Secure: a.secure, SameSite: http.SameSiteStrictMode,
	})
	a.log.Info("signed in", "token_name", s.Principal.TokenName, "role", s.Principal.Role, "remote", web.ClientIP(r))
	web.JSON(w, http.StatusOK, sessionResponse{Name: s.Principal.TokenName, Role: s.Principal.Role, CSRFToken: s.CSRF, ExpiresAt: s.ExpiresAt})
}

func (a *Authenticator) signOut(w http.ResponseWriter, r *http.Request) {
	p, err := a.resolve(r)
	if err == nil && p.SessionID != 0 {
		if err := a.svc.DeleteSession(r.Context(), p.SessionID); err != nil {
			a.writeError(w, r, err)
			return
		}
	} else if err != nil && !errors.Is(err, ErrUnauthenticated) && !errors.Is(err, ErrInvalidSession) {
		a.writeError(w, r, err)
		return
	}
	a.clearCookies(w)
	w.WriteHeader(http.StatusNoContent)
}

// clearCookies tells the browser to forget the session.
func (a *Authenticator) clearCookies(w http.ResponseWriter) {
	for _, name := range []string{SessionCookie, CSRFCookie} {
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: "/", MaxAge: -1, HttpOnly: name == SessionCookie,
			Secure: a.secure, SameSite: http.SameSiteStrictMode})
	}
}

// PrincipalFromInit authenticates a websocket connection_init payload:
// {"authorization": "Bearer <token>"} or {"token": "<token>"}.
func (a *Authenticator) PrincipalFromInit(ctx context.Context, payload map[string]any) (*Principal, error) {
	var tok string
	for _, key := range []string{"authorization", "Authorization"} {
		if v, ok := payload[key].(string); ok {
			scheme, t, found := strings.Cut(v, " ")
			if found && strings.EqualFold(scheme, "Bearer") {
				tok = strings.TrimSpace(t)
			}
		}
	}
	if v, ok := payload["token"].(string); ok && tok == "" {
		tok = strings.TrimSpace(v)
	}
	if tok == "" {
		return nil, ErrUnauthenticated
	}
	// Bad tokens here count against the address like bad bearer tokens.
	addr := web.ClientAddr(ctx)
	if a.attempts != nil {
		if ok, wait := a.attempts.Allow(addr); !ok {
			return nil, &tooMany{wait: wait}
		}
	}
	p, err := a.svc.Authenticate(ctx, tok)
	if a.attempts != nil && errors.Is(err, ErrInvalidToken) {
		a.attempts.Failed(addr)
	}
	return p, err
}

// RecheckEvery is how often a long-lived connection (a GraphQL websocket)
// checks that the credentials it was opened with still hold. Checking the
// database, rather than listening for revocations, covers expiry as well
// and works the same on every instance.
const RecheckEvery = 2 * time.Second

// Watch returns a context that ends when p's credentials stop holding —
// the token revoked or expired, the session signed out or expired — or
// when ctx ends. Long-lived connections run under it, so revocation ends
// them within RecheckEvery on every instance.
func (a *Authenticator) Watch(ctx context.Context, p *Principal) context.Context {
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		defer cancel()
		t := time.NewTicker(RecheckEvery)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			cctx, ccancel := context.WithTimeout(ctx, RecheckEvery)
			ok, err := a.svc.StillValid(cctx, p)
			ccancel()
			if err != nil {
				if ctx.Err() == nil {
					a.log.Warn("could not recheck a websocket's credentials; keeping it open", "err", err, "token_name", p.TokenName)
				}
				continue
			}
			if !ok {
				a.log.Info("closing a websocket whose credentials no longer hold", "token_name", p.TokenName, "via", p.Via())
				return
			}
		}
	}()
	return ctx
}
