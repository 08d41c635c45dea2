package web_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/web"
)

func TestCORS(t *testing.T) {
	t.Parallel()
	reached := false
	h := web.CORS([]string{"https://ops.example.com"})(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		reached = true
		w.WriteHeader(http.StatusOK)
	}))
	do := func(method, origin string, preflight bool) *httptest.ResponseRecorder {
		reached = false
		r := httptest.NewRequest(method, "http://hooklens.local/graphql", nil)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		if preflight {
			r.Header.Set("Access-Control-Request-Method", "POST")
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}

	// No Origin, or our own: untouched.
	w := do(http.MethodPost, "", false)
	require.True(t, reached)
	require.Empty(t, w.Header().Get("Access-Control-Allow-Origin"))
	w = do(http.MethodPost, "https://hooklens.local", false)
	require.True(t, reached)
	require.Empty(t, w.Header().Get("Access-Control-Allow-Origin"))

	// An allowed origin: preflight answered, requests marked readable,
	// never with credentials.
	w = do(http.MethodOptions, "https://ops.example.com", true)
	require.False(t, reached)
	require.Equal(t, http.StatusNoContent, w.Code)
	require.Equal(t, "https://ops.example.com", w.Header().Get("Access-Control-Allow-Origin"))
	require.Contains(t, w.Header().Get("Access-Control-Allow-Headers"), "Authorization")
	w = do(http.MethodPost, "https://ops.example.com", false)
	require.True(t, reached)
	require.Equal(t, "https://ops.example.com", w.Header().Get("Access-Control-Allow-Origin"))
	require.Empty(t, w.Header().Get("Access-Control-Allow-Credentials"))

	// Anyone else: preflight and unsafe requests refused, safe ones served
	// without CORS headers.
	w = do(http.MethodOptions, "https://evil.example", true)
	require.False(t, reached)
	require.Equal(t, http.StatusForbidden, w.Code)
	require.Empty(t, w.Header().Get("Access-Control-Allow-Origin"))
	w = do(http.MethodPost, "https://evil.example", false)
	require.False(t, reached)
	require.Equal(t, http.StatusForbidden, w.Code)
	w = do(http.MethodGet, "https://evil.example", false)
	require.True(t, reached)
	require.Empty(t, w.Header().Get("Access-Control-Allow-Origin"))
	require.Equal(t, "Origin", w.Header().Get("Vary"))
	w = do(http.MethodPost, "null", false)
	require.False(t, reached)
	require.Equal(t, http.StatusForbidden, w.Code)
}
