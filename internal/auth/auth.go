// Package auth issues and checks API tokens and dashboard sessions, and
// carries the caller (the Principal) through request contexts.
//
// Tokens and session ids are 256-bit random values; only their SHA-256 is
// stored. This package never logs a token, a session id or a CSRF token.
package auth

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/hooklens/hooklens/ent"
	"github.com/hooklens/hooklens/ent/apitoken"
	"github.com/hooklens/hooklens/ent/session"
)

// Role is what a principal may do.
type Role string

// Roles. Admins may do everything; viewers may read but run no mutation.
const (
	RoleAdmin  Role = "admin"
	RoleViewer Role = "viewer"
)

// ParseRole validates a role name.
func ParseRole(s string) (Role, error) {
	switch Role(strings.ToLower(strings.TrimSpace(s))) {
	case RoleAdmin:
		return RoleAdmin, nil
	case RoleViewer:
		return RoleViewer, nil
	}
	return "", fmt.Errorf("role must be admin or viewer, not %q", s)
}

// TokenPrefix starts every hooklens token, so secret scanners can find leaks.
const TokenPrefix = "hl_"

// Errors returned by authentication. They are safe to show.
var (
	ErrUnauthenticated = errors.New("authentication required: send Authorization: Bearer <token> or sign in")
	ErrInvalidToken    = errors.New("invalid, expired or revoked token")
	ErrInvalidSession  = errors.New("session expired or signed out")
	ErrForbidden       = errors.New("this needs an admin token")
	ErrBadCSRF         = errors.New("missing or wrong X-CSRF-Token header for a cookie-authenticated request")
)

// Principal is the authenticated caller.
type Principal struct {
	TokenID   int
	TokenName string
	Role      Role
	// SessionID is set when the caller came through a session cookie.
	SessionID int
	csrf      string
}

// IsAdmin reports whether p may run mutations and admin queries.
func (p *Principal) IsAdmin() bool { return p != nil && p.Role == RoleAdmin }

// Via says how the principal authenticated: "session" or "token".
func (p *Principal) Via() string {
	if p.SessionID != 0 {
		return "session"
	}
	return "token"
}

type principalKey struct{}

// WithPrincipal returns ctx carrying p.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal in ctx, or nil.
func FromContext(ctx context.Context) *Principal {
	p, _ := ctx.Value(principalKey{}).(*Principal)
	return p
}

// Service manages tokens and sessions.
type Service struct {
	client     *ent.Client
	sessionTTL time.Duration
	now        func() time.Time

	mu       sync.Mutex
	lastSeen map[int]time.Time // token id → last recorded use

	onUse func(ctx context.Context, p *Principal)
}

// OnTokenUse registers fn to run when a token's use is recorded: at most
// once a minute per token on each instance (see touch). The audit trail
// uses it. Call it before serving.
func (s *Service) OnTokenUse(fn func(ctx context.Context, p *Principal)) { s.onUse = fn }

// NewService returns a Service over client. Sessions last ttl.
func NewService(client *ent.Client, ttl time.Duration) *Service {
	return &Service{client: client, sessionTTL: ttl, now: time.Now, lastSeen: map[int]time.Time{}}
}

func randomToken(prefix string) (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("reading random bytes: %w", err)
	}
	return prefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// Hash returns the stored form of a token or session id.
func Hash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

// CreateToken makes a token and returns it with its record. The token is
// only ever available here.
func (s *Service) CreateToken(ctx context.Context, name string, role Role, expiresAt *time.Time) (string, *ent.APIToken, error) {
	name = strings.TrimSpace(name)
	if name == "" || len(name) > 100 {
		return "", nil, errors.New("token name must be 1–100 characters")
	}
	if _, err := ParseRole(string(role)); err != nil {
		return "", nil, err
	}
	tok, err := randomToken(TokenPrefix)
	if err != nil {
		return "", nil, err
	}
	c := s.client.APIToken.Create().
		SetName(name).
		SetRole(apitoken.Role(role)).
		SetTokenHash(Hash(tok)).
		SetPrefix(tok[:len(TokenPrefix)+6]).
		SetCreatedAt(s.now().UTC())
	if expiresAt != nil {
		c.SetExpiresAt(expiresAt.UTC())
	}
	rec, err := c.Save(ctx)
	if err != nil {
		return "", nil, fmt.Errorf("creating token: %w", err)
	}
	return tok, rec, nil
}

// ListTokens returns every token record, newest first.
func (s *Service) ListTokens(ctx context.Context) ([]*ent.APIToken, error) {
	return s.client.APIToken.Query().Order(ent.Desc(apitoken.FieldCreatedAt), ent.Desc(apitoken.FieldID)).All(ctx)
}

// RevokeToken revokes a token by id or by its exact name, and ends its
// sessions.
func (s *Service) RevokeToken(ctx context.Context, idOrName string) (*ent.APIToken, error) {
	q := s.client.APIToken.Query()
	var id int
	if _, err := fmt.Sscanf(idOrName, "%d", &id); err == nil && fmt.Sprint(id) == idOrName {
		q = q.Where(apitoken.ID(id))
	} else {
		q = q.Where(apitoken.Name(idOrName))
	}
	toks, err := q.All(ctx)
	if err != nil {
		return nil, fmt.Errorf("finding token: %w", err)
	}
	switch len(toks) {
	case 0:
		return nil, fmt.Errorf("no token %q", idOrName)
	case 1:
	default:
		return nil, fmt.Errorf("%d tokens are named %q; revoke by id", len(toks), idOrName)
	}
	return s.RevokeTokenID(ctx, toks[0].ID)
}

// RevokeTokenID revokes the token with id and ends its sessions.
func (s *Service) RevokeTokenID(ctx context.Context, id int) (*ent.APIToken, error) {
	tok, err := s.client.APIToken.Get(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("finding token %d: %w", id, err)
	}
	if tok.RevokedAt == nil {
		tok, err = tok.Update().SetRevokedAt(s.now().UTC()).Save(ctx)
		if err != nil {
			return nil, fmt.Errorf("revoking token: %w", err)
		}
	}
	if _, err := s.client.Session.Delete().Where(session.TokenID(id)).Exec(ctx); err != nil {
		return nil, fmt.Errorf("ending sessions of token %d: %w", id, err)
	}
	return tok, nil
}

// CountActiveAdmins counts admin tokens that are neither revoked nor expired.
func (s *Service) CountActiveAdmins(ctx context.Context) (int, error) {
	now := s.now().UTC()
	return s.client.APIToken.Query().Where(
		apitoken.RoleEQ(apitoken.RoleAdmin),
		apitoken.RevokedAtIsNil(),
		apitoken.Or(apitoken.ExpiresAtIsNil(), apitoken.ExpiresAtGT(now)),
	).Count(ctx)
}

// Bootstrap creates a first admin token when there is no token at all, and
// returns it; "" when tokens exist. lock, when non-nil, runs the check and
// create under a cluster-wide lock so two instances starting together make
// one token.
func (s *Service) Bootstrap(ctx context.Context, lock func(context.Context, func(context.Context) error) error) (string, error) {
	var tok string
	run := func(ctx context.Context) error {
		n, err := s.client.APIToken.Query().Count(ctx)
		if err != nil {
			return fmt.Errorf("counting tokens: %w", err)
		}
		if n > 0 {
			return nil
		}
		tok, _, err = s.CreateToken(ctx, "bootstrap admin", RoleAdmin, nil)
		return err
	}
	if lock != nil {
		return tok, lock(ctx, run)
	}
	return tok, run(ctx)
}

// Authenticate checks a bearer token.
func (s *Service) Authenticate(ctx context.Context, token string) (*Principal, error) {
	if !strings.HasPrefix(token, TokenPrefix) || len(token) > 200 {
		return nil, ErrInvalidToken
	}
	tok, err := s.client.APIToken.Query().Where(apitoken.TokenHash(Hash(token))).Only(ctx)
	if ent.IsNotFound(err) {
		return nil, ErrInvalidToken
	}
	if err != nil {
		return nil, fmt.Errorf("checking token: %w", err)
	}
	if !s.usable(tok) {
		return nil, ErrInvalidToken
	}
	p := &Principal{TokenID: tok.ID, TokenName: tok.Name, Role: Role(tok.Role)}
	if s.touch(ctx, tok.ID) && s.onUse != nil {
		s.onUse(ctx, p)
	}
	return p, nil
}

func (s *Service) usable(tok *ent.APIToken) bool {
	if tok.RevokedAt != nil {
		return false
	}
	return tok.ExpiresAt == nil || tok.ExpiresAt.After(s.now())
}

// touch records a token's use at most once a minute per process: the write
// is for people auditing tokens, not worth a write per request. It reports
// whether it recorded this use.
func (s *Service) touch(ctx context.Context, id int) bool {
	now := s.now()
	s.mu.Lock()
	last, ok := s.lastSeen[id]
	if ok && now.Sub(last) < time.Minute {
		s.mu.Unlock()
		return false
	}
	s.lastSeen[id] = now
	s.mu.Unlock()
	_ = s.client.APIToken.UpdateOneID(id).SetLastUsedAt(now.UTC()).Exec(ctx)
	return true
}

// NewSession is a created session: the cookie value and its CSRF token.
type NewSession struct {
	ID        string
	CSRF      string
	ExpiresAt time.Time
	Principal *Principal
}

// CreateSession exchanges a token for a session.
func (s *Service) CreateSession(ctx context.Context, token, remoteAddr, userAgent string) (*NewSession, error) {
	p, err := s.Authenticate(ctx, token)
	if err != nil {
		return nil, err
	}
	id, err := randomToken("")
	if err != nil {
		return nil, err
	}
	csrf, err := randomToken("")
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	exp := now.Add(s.sessionTTL)
	if len(userAgent) > 256 {
		userAgent = userAgent[:256]
	}
	rec, err := s.client.Session.Create().
		SetSessionHash(Hash(id)).
		SetCsrfToken(csrf).
		SetCreatedAt(now).
		SetExpiresAt(exp).
		SetLastSeenAt(now).
		SetRemoteAddr(remoteAddr).
		SetUserAgent(strings.ToValidUTF8(userAgent, "")).
		SetTokenID(p.TokenID).
		Save(ctx)
	if err != nil {
		return nil, fmt.Errorf("creating session: %w", err)
	}
	p.SessionID = rec.ID
	p.csrf = csrf
	return &NewSession{ID: id, CSRF: csrf, ExpiresAt: exp, Principal: p}, nil
}

// SessionPrincipal resolves a session cookie value.
func (s *Service) SessionPrincipal(ctx context.Context, id string) (*Principal, error) {
	if id == "" || len(id) > 100 {
		return nil, ErrInvalidSession
	}
	sess, err := s.client.Session.Query().
		Where(session.SessionHash(Hash(id))).
		WithToken().
		Only(ctx)
	if ent.IsNotFound(err) {
		return nil, ErrInvalidSession
	}
	if err != nil {
		return nil, fmt.Errorf("checking session: %w", err)
	}
	now := s.now()
	if !sess.ExpiresAt.After(now) || sess.Edges.Token == nil || !s.usable(sess.Edges.Token) {
		return nil, ErrInvalidSession
	}
	if now.Sub(sess.LastSeenAt) > time.Minute {
		_ = s.client.Session.UpdateOneID(sess.ID).SetLastSeenAt(now.UTC()).Exec(ctx)
	}
	tok := sess.Edges.Token
	return &Principal{TokenID: tok.ID, TokenName: tok.Name, Role: Role(tok.Role), SessionID: sess.ID, csrf: sess.CsrfToken}, nil
}

// CheckCSRF compares a request's CSRF header with the session's token.
func (p *Principal) CheckCSRF(header string) bool {
	if p.csrf == "" || header == "" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(p.csrf), []byte(header)) == 1
}

// CSRF returns the session's CSRF token ("" for bearer tokens), for the
// session endpoint to hand back to the dashboard.
func (p *Principal) CSRF() string { return p.csrf }

// DeleteSession ends a session by id.
func (s *Service) DeleteSession(ctx context.Context, sessionID int) error {
	err := s.client.Session.DeleteOneID(sessionID).Exec(ctx)
	if ent.IsNotFound(err) {
		return nil
	}
	return err
}

// PurgeExpiredSessions deletes sessions past their expiry.
func (s *Service) PurgeExpiredSessions(ctx context.Context) (int, error) {
	return s.client.Session.Delete().Where(session.ExpiresAtLT(s.now().UTC())).Exec(ctx)
}

// StillValid reports whether p's credentials still hold: its token is
// neither revoked nor expired and, for a session, the session still exists
// and has not expired. A database error is returned as such, not as
// invalid.
func (s *Service) StillValid(ctx context.Context, p *Principal) (bool, error) {
	if p.SessionID != 0 {
		sess, err := s.client.Session.Query().Where(session.ID(p.SessionID)).WithToken().Only(ctx)
		if ent.IsNotFound(err) {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("checking session: %w", err)
		}
		return sess.ExpiresAt.After(s.now()) && sess.Edges.Token != nil && s.usable(sess.Edges.Token), nil
	}
	tok, err := s.client.APIToken.Get(ctx, p.TokenID)
	if ent.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("checking token: %w", err)
	}
	return s.usable(tok), nil
}
