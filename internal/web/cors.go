package web

import (
	"net/http"
	"net/url"
	"strings"
)

// CORS answers cross-origin requests. It is closed by default: a browser
// page from another origin gets no CORS headers (so it can read nothing),
// its preflights are refused, and its unsafe requests (POST, DELETE, …) are
// refused before they reach a handler, whatever cookies they carry. Origins
// in allowed (scheme://host[:port], from HOOKLENS_ALLOWED_ORIGINS) may call
// the API with bearer tokens; cookies are never shared cross-origin (no
// Allow-Credentials, and the session cookie is SameSite=Strict). Requests
// without an Origin header (curl, Dwolla, server-side clients) and
// same-origin requests pass untouched.
func CORS(allowed []string) func(http.Handler) http.Handler {
	set := map[string]bool{}
	for _, o := range allowed {
		set[strings.ToLower(strings.TrimRight(o, "/"))] = true
	}
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := r.Header.Get("Origin")
			if origin == "" || sameOrigin(r, origin) {
				next.ServeHTTP(w, r)
				return
			}
			h := w.Header()
			h.Add("Vary", "Origin")
			ok := set[strings.ToLower(origin)]
			preflight := r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != ""
			switch {
			case ok && preflight:
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Allow-Methods", "GET, POST, OPTIONS")
				h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, X-Request-ID")
				h.Set("Access-Control-Max-Age", "600")
				w.WriteHeader(http.StatusNoContent)
			case ok:
				h.Set("Access-Control-Allow-Origin", origin)
				h.Set("Access-Control-Expose-Headers", "X-Request-ID, Retry-After")
				next.ServeHTTP(w, r)
			case preflight || unsafeMethod(r.Method) && !IsWebsocket(r):
				Error(w, r, http.StatusForbidden, "cross_origin", "cross-origin requests from this origin are not allowed (HOOKLENS_ALLOWED_ORIGINS)")
			default:
				// A safe request from another origin: serve it without CORS
				// headers, so the browser keeps the answer from the page.
				// Websocket upgrades check their origin themselves.
				next.ServeHTTP(w, r)
			}
		})
	}
}

// sameOrigin reports whether origin names the host the request was sent
// to. Only the host is compared: behind a TLS-terminating proxy the scheme
// the server sees differs from the browser's.
func sameOrigin(r *http.Request, origin string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	return strings.EqualFold(u.Host, r.Host)
}

func unsafeMethod(m string) bool {
	return m != http.MethodGet && m != http.MethodHead && m != http.MethodOptions
}
