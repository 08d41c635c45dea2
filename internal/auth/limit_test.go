package auth_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/auth"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/netguard"
)

// TestFailedAttemptsAreLimited: failed sign-ins and bad bearer tokens
// spend the client's budget; past it the client gets 429 with Retry-After,
// even with a good token, while other clients are unaffected. The sign-in
// and token-use hooks see every attempt.
func TestFailedAttemptsAreLimited(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "sqlite")
	svc := auth.NewService(db.Client, time.Hour)
	good, _, err := svc.CreateToken(context.Background(), "ops", auth.RoleAdmin, nil)
	require.NoError(t, err)

	var mu sync.Mutex
	var signIns []string
	uses := 0
	svc.OnTokenUse(func(ctx context.Context, p *auth.Principal) { mu.Lock(); uses++; mu.Unlock() })
	a := auth.NewAuthenticator(svc, slog.New(slog.NewTextHandler(io.Discard, nil)), false)
	a.LimitAttempts(netguard.NewAttempts(netguard.Rate{PerSecond: 0.01, Burst: 3}, 0))
	a.OnSignIn(func(r *http.Request, p *auth.Principal, err error) {
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			signIns = append(signIns, "failed")
			return
		}
		signIns = append(signIns, p.TokenName)
	})
	mux := http.NewServeMux()
	mux.Handle("/api/session", a.SessionHandler())
	mux.Handle("/api/thing", a.Require(false)(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {})))

	do := func(remote, path, bearer, body string) *httptest.ResponseRecorder {
		method := http.MethodGet
		if body != "" {
			method = http.MethodPost
		}
		r := httptest.NewRequest(method, path, strings.NewReader(body))
		r.RemoteAddr = remote + ":1234"
		if bearer != "" {
			r.Header.Set("Authorization", "Bearer "+bearer)
		}
		w := httptest.NewRecorder()
		mux.ServeHTTP(w, r)
		return w
	}

	require.Equal(t, http.StatusOK, do("198.51.100.1", "/api/session", "", `{"token":"`+good+`"}`).Code)
	require.Equal(t, http.StatusUnauthorized, do("198.51.100.1", "/api/session", "", `{"token":"hl_wrong"}`).Code)
	require.Equal(t, http.StatusUnauthorized, do("198.51.100.1", "/api/thing", "hl_wrong", "").Code)
	require.Equal(t, http.StatusUnauthorized, do("198.51.100.1", "/api/thing", "hl_wrong", "").Code)

	w := do("198.51.100.1", "/api/session", "", `{"token":"`+good+`"}`)
	require.Equal(t, http.StatusTooManyRequests, w.Code, w.Body.String())
	require.NotEmpty(t, w.Header().Get("Retry-After"))
	require.Equal(t, http.StatusTooManyRequests, do("198.51.100.1", "/api/thing", good, "").Code)
	require.Equal(t, http.StatusOK, do("198.51.100.2", "/api/thing", good, "").Code, "other clients are unaffected")

	mu.Lock()
	defer mu.Unlock()
	require.Equal(t, []string{"ops", "failed"}, signIns)
	require.Equal(t, 1, uses, "token use is reported at most once a minute")
}
