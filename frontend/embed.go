// Package frontend serves the dashboard: the Vite build in dist/, embedded
// in the binary. Until the dashboard is built (make frontend), a small page
// says how to build it, so the Go binary always builds without Node.
package frontend

import (
	"bytes"
	"embed"
	"io"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"
)

//go:embed all:dist
var dist embed.FS

// Built reports whether dist holds a built dashboard.
func Built() bool {
	_, err := fs.Stat(dist, "dist/index.html")
	return err == nil
}

// Handler serves the dashboard with a history fallback: a path without a
// file extension that is not a file gets index.html, so client-side routes
// survive a reload. Hashed assets are cached for a year as immutable;
// index.html is revalidated every time. Files precompressed at build time
// (name.br, name.gz beside name) are served to clients that accept them.
func Handler() http.Handler {
	sub, err := fs.Sub(dist, "dist")
	if err != nil {
		panic(err) // the embed directive guarantees dist exists
	}
	return handlerFS(sub)
}

// handlerFS serves the dashboard from fsys (the build output).
func handlerFS(fsys fs.FS) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			w.Header().Set("Allow", "GET, HEAD")
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		p := strings.TrimPrefix(path.Clean("/"+r.URL.Path), "/")
		if p != "" && p != "index.html" {
			if st, err := fs.Stat(fsys, p); err == nil && !st.IsDir() {
				if strings.HasPrefix(p, "assets/") {
					// Vite names every file under assets/ by its content hash.
					w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
				}
				serveFile(w, r, fsys, p)
				return
			}
			if path.Ext(p) != "" {
				http.NotFound(w, r)
				return
			}
		}
		w.Header().Set("Cache-Control", "no-cache")
		if _, err := fs.Stat(fsys, "index.html"); err != nil {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = io.WriteString(w, placeholder)
			return
		}
		serveFile(w, r, fsys, "index.html")
	})
}

// encodings are the precompressed variants the build writes, best first.
var encodings = []struct{ name, suffix string }{{"br", ".br"}, {"gzip", ".gz"}}

// serveFile serves name, or its precompressed variant when the client
// accepts one, with the original's content type and Vary: Accept-Encoding.
func serveFile(w http.ResponseWriter, r *http.Request, fsys fs.FS, name string) {
	h := w.Header()
	ctype := mime.TypeByExtension(path.Ext(name))
	if ctype == "" {
		ctype = "application/octet-stream"
	}
	h.Set("Content-Type", ctype)
	file := name
	for _, enc := range encodings {
		if _, err := fs.Stat(fsys, name+enc.suffix); err != nil {
			continue
		}
		h.Add("Vary", "Accept-Encoding") // a variant exists: caches must key on it
		if accepts(r.Header.Get("Accept-Encoding"), enc.name) {
			file = name + enc.suffix
			h.Set("Content-Encoding", enc.name)
			break
		}
	}
	if h.Values("Vary") != nil {
		h["Vary"] = []string{"Accept-Encoding"}
	}
	f, err := fsys.Open(file)
	if err != nil {
		http.NotFound(w, r)
		return
	}
	defer f.Close()
	rs, ok := f.(io.ReadSeeker)
	if !ok {
		b, err := io.ReadAll(f)
		if err != nil {
			http.Error(w, "reading "+name, http.StatusInternalServerError)
			return
		}
		rs = bytes.NewReader(b)
	}
	http.ServeContent(w, r, name, time.Time{}, rs)
}

// accepts reports whether an Accept-Encoding header allows coding (with a
// quality above zero, named or through *).
func accepts(header, coding string) bool {
	star := false
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		for _, p := range strings.Split(params, ";") {
			if k, v, ok := strings.Cut(strings.TrimSpace(p), "="); ok && strings.EqualFold(k, "q") {
				if f, err := strconv.ParseFloat(v, 64); err == nil {
					q = f
				}
			}
		}
		switch {
		case strings.EqualFold(name, coding):
			return q > 0
		case name == "*":
			star = q > 0
		}
	}
	return star
}

const placeholder = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>hooklens</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:40rem;margin:4rem auto;padding:0 1rem;color:#1f2937}
code{background:#f3f4f6;padding:.1rem .3rem;border-radius:.25rem}</style></head>
<body><h1>hooklens is running</h1>
<p>The dashboard was not built into this binary. Run <code>make run</code> (or <code>make frontend build</code>)
to build it. The API is up: GraphQL at <code>/graphql</code>, webhooks at
<code>/api/webhooks/dwolla/v2</code>, metrics at <code>/metrics</code>.</p></body></html>`
