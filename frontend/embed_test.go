package frontend

import (
	"bytes"
	"compress/gzip"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// A small build output like Vite's, with the precompressed variants the
// build writes beside each file.
func writeBuild(t *testing.T) (string, []byte) {
	t.Helper()
	dir := t.TempDir()
	js := []byte(strings.Repeat("console.log('hooklens');\n", 200))
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	_, err := zw.Write(js)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	files := map[string][]byte{
		"index.html":              []byte("<!doctype html><title>hooklens</title>"),
		"index.html.gz":           gzipBytes(t, []byte("<!doctype html><title>hooklens</title>")),
		"assets/index-abc1.js":    js,
		"assets/index-abc1.js.gz": gz.Bytes(),
		"assets/index-abc1.js.br": []byte("brotli bytes (opaque to this test)"),
		"assets/logo-def2.png":    []byte("\x89PNG"),
	}
	for name, b := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, b, 0o644))
	}
	return dir, js
}

func gzipBytes(t *testing.T, b []byte) []byte {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, err := zw.Write(b)
	require.NoError(t, err)
	require.NoError(t, zw.Close())
	return buf.Bytes()
}

func get(t *testing.T, url, acceptEncoding string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	require.NoError(t, err)
	req.Header.Set("Accept-Encoding", acceptEncoding) // set: Go's client then leaves the body as sent
	resp, err := http.DefaultTransport.RoundTrip(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, body
}

func TestPrecompressedAssets(t *testing.T) {
	t.Parallel()
	dir, js := writeBuild(t)
	srv := httptest.NewServer(handlerFS(os.DirFS(dir)))
	t.Cleanup(srv.Close)
	const immutable = "public, max-age=31536000, immutable"

	resp, body := get(t, srv.URL+"/assets/index-abc1.js", "gzip, deflate, br")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "br", resp.Header.Get("Content-Encoding"), "brotli first when accepted")
	require.Equal(t, "brotli bytes (opaque to this test)", string(body))
	require.Contains(t, resp.Header.Get("Content-Type"), "javascript")
	require.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"))
	require.Equal(t, immutable, resp.Header.Get("Cache-Control"))

	resp, body = get(t, srv.URL+"/assets/index-abc1.js", "gzip")
	require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	zr, err := gzip.NewReader(bytes.NewReader(body))
	require.NoError(t, err)
	plain, err := io.ReadAll(zr)
	require.NoError(t, err)
	require.Equal(t, js, plain)
	require.Less(t, len(body), len(js)/4)
	require.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"))

	resp, _ = get(t, srv.URL+"/assets/index-abc1.js", "br;q=0, gzip;q=0.5")
	require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"), "q=0 refuses brotli")

	resp, body = get(t, srv.URL+"/assets/index-abc1.js", "identity")
	require.Empty(t, resp.Header.Get("Content-Encoding"))
	require.Equal(t, js, body)
	require.Equal(t, "Accept-Encoding", resp.Header.Get("Vary"))

	// A file without variants: no Vary, still immutable.
	resp, _ = get(t, srv.URL+"/assets/logo-def2.png", "gzip, br")
	require.Empty(t, resp.Header.Get("Content-Encoding"))
	require.Empty(t, resp.Header.Get("Vary"))
	require.Equal(t, immutable, resp.Header.Get("Cache-Control"))

	// index.html (and client routes) compressed but never immutable.
	for _, p := range []string{"/", "/events/42"} {
		resp, body = get(t, srv.URL+p, "gzip")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Equal(t, "gzip", resp.Header.Get("Content-Encoding"), p)
		require.Equal(t, "no-cache", resp.Header.Get("Cache-Control"), p)
		require.Contains(t, resp.Header.Get("Content-Type"), "text/html")
		zr, err := gzip.NewReader(bytes.NewReader(body))
		require.NoError(t, err)
		plain, err := io.ReadAll(zr)
		require.NoError(t, err)
		require.Contains(t, string(plain), "<title>hooklens</title>")
	}
}

func TestAccepts(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		header, coding string
		want           bool
	}{
		{"gzip, deflate, br", "br", true},
		{"gzip", "br", false},
		{"br;q=0", "br", false},
		{"*", "gzip", true},
		{"*;q=0, gzip", "gzip", true},
		{"gzip;q=0, *", "gzip", false},
		{"", "gzip", false},
		{"GZIP", "gzip", true},
	} {
		require.Equal(t, tc.want, accepts(tc.header, tc.coding), "%q %s", tc.header, tc.coding)
	}
}
