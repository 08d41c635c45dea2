//go:build reliability

package reliability

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/dwolla"
)

// TestHostileInput sends the bad-input matrix to one server and checks each
// answer is the documented one (README, "The webhook receiver"), that the
// floods are absorbed, that nothing acknowledged is lost and that the
// server is healthy afterwards. Each case comes from its own client address
// (X-Forwarded-For through a trusted loopback proxy), so one case's
// rejections never spend another's budget.
func TestHostileInput(t *testing.T) {
	t.Parallel()
	dbPath := filepath.Join(t.TempDir(), "hooklens.db")
	s := newServer(t, serverOptions{databaseURL: dbPath, env: map[string]string{
		"HOOKLENS_TRUSTED_PROXIES":      "127.0.0.1",
		"HOOKLENS_WEBHOOK_SOURCE_LIMIT": "5/s:50",
	}})
	s.start()
	from := func(i int) map[string]string {
		return map[string]string{"X-Forwarded-For": fmt.Sprintf("198.51.100.%d", i)}
	}
	good := eventBody("hostile-good-1")
	sig := dwolla.Sign([]byte(s.secret), good)
	signed := func(body []byte) string { return dwolla.Sign([]byte(s.secret), body) }

	deep := []byte(`{"id":"deep","topic":"customer_created","created":"2024-01-01T00:00:00Z","x":` +
		strings.Repeat("[", 100000) + strings.Repeat("]", 100000) + `}`)
	huge := bytes.Repeat([]byte("a"), 10<<20)
	huge = append(append([]byte(`{"id":"huge","topic":"customer_created","created":"2024-01-01T00:00:00Z","x":"`), huge...), '"', '}')

	for i, tc := range []struct {
		name    string
		body    []byte
		sig     string
		headers map[string]string
		status  int
		code    string
	}{
		{"wrong signature", good, signed([]byte("other")), nil, 401, "bad_signature"},
		{"missing signature", good, "", nil, 401, "bad_signature"},
		{"upper-case signature", good, strings.ToUpper(sig), nil, 401, "bad_signature"},
		{"truncated signature", good, sig[:40], nil, 401, "bad_signature"},
		{"truncated JSON", good[:len(good)/2], signed(good[:len(good)/2]), nil, 400, "malformed_event"},
		{"non-UTF-8 JSON", []byte("{\"id\":\"\xff\xfe\",\"topic\":\"customer_created\",\"created\":\"2024-01-01T00:00:00Z\"}"),
			signed([]byte("{\"id\":\"\xff\xfe\",\"topic\":\"customer_created\",\"created\":\"2024-01-01T00:00:00Z\"}")), nil, 400, "malformed_event"},
		{"deeply nested JSON", deep, signed(deep), nil, 400, "malformed_event"},
		{"10 MB JSON", huge, signed(huge), nil, 413, "too_large"},
		{"wrong content type", good, sig, map[string]string{"Content-Type": "text/plain"}, 415, "unsupported_media_type"},
		{"the good delivery", good, sig, nil, 200, ""},
	} {
		h := from(i + 1)
		for k, v := range tc.headers {
			h[k] = v
		}
		status, _, body, err := s.deliverSigned(tc.body, tc.sig, h)
		require.NoError(t, err, tc.name)
		require.Equal(t, tc.status, status, "%s: %s", tc.name, truncate(body))
		if tc.code != "" {
			require.Equal(t, tc.code, errorCode(body), tc.name)
		}
	}

	// A 10 MB body without Content-Length (chunked) is cut at the limit.
	req, err := http.NewRequest(http.MethodPost, s.url("/api/webhooks/dwolla/v2"), io.MultiReader(bytes.NewReader(huge)))
	require.NoError(t, err)
	req.Header.Set("X-Forwarded-For", "198.51.100.30")
	req.Header.Set(dwolla.SignatureHeader, signed(huge))
	resp, err := client.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusRequestEntityTooLarge, resp.StatusCode)

	// Headers over the 64 KB cap: 431.
	status, _, _, err := s.deliverSigned(good, sig, map[string]string{"X-Forwarded-For": "198.51.100.31", "X-Padding": strings.Repeat("p", 70<<10)})
	require.NoError(t, err)
	require.Equal(t, http.StatusRequestHeaderFieldsTooLarge, status)

	// The attacks run at once; the group returns when all are done.
	t.Run("attacks", func(t *testing.T) {
		t.Run("slowloris", func(t *testing.T) { slowloris(t, s) })
		t.Run("duplicate flood", func(t *testing.T) { duplicateFlood(t, s) })
		t.Run("flood from one address", func(t *testing.T) { floodFromOneAddress(t, s) })
	})

	// Healthy afterwards, and nothing acknowledged was lost.
	for _, path := range []string{"/healthz", "/readyz", "/api/webhooks/dwolla/v2"} {
		resp, err := client.Get(s.url(path))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, path)
	}
	after := eventBody("hostile-good-2")
	status, _, _, err = s.deliverSigned(after, signed(after), from(99))
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	requireAllStoredOnceAndProcessed(t, openDB(t, dbPath),
		map[string]bool{"hostile-good-1": true, "hostile-good-2": true, "hostile-dup": true}, "hostile")
	s.stop()
}

func truncate(b []byte) string {
	if len(b) > 300 {
		return string(b[:300]) + "…"
	}
	return string(b)
}

// slowloris: connections that send their headers a byte at a time are cut
// off by the server's header timeout (10 s), and the server keeps serving
// everyone else meanwhile. A body that trickles in is cut by the read
// timeout (30 s).
func slowloris(t *testing.T, s *server) {
	t.Parallel()
	const conns = 50
	var wg sync.WaitGroup
	var cut atomic.Int32
	start := time.Now()
	for i := 0; i < conns; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, err := net.Dial("tcp", s.addr)
			if err != nil {
				return
			}
			defer c.Close()
			_, _ = fmt.Fprintf(c, "POST /api/webhooks/dwolla/v2 HTTP/1.1\r\nHost: x\r\n")
			for j := 0; j < 40; j++ { // at most 40 s
				if _, err := c.Write([]byte("X")); err != nil {
					cut.Add(1)
					return
				}
				_ = c.SetReadDeadline(time.Now().Add(time.Second))
				if n, err := c.Read(make([]byte, 1)); n > 0 || err != nil && !isTimeout(err) {
					cut.Add(1)
					return
				}
			}
		}()
	}
	// Meanwhile a normal delivery is served promptly.
	time.Sleep(2 * time.Second)
	body := eventBody("hostile-during-slowloris")
	begin := time.Now()
	status, _, _, err := s.deliverSigned(body, dwolla.Sign([]byte(s.secret), body), map[string]string{"X-Forwarded-For": "198.51.100.40"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Less(t, time.Since(begin), 2*time.Second)
	wg.Wait()
	require.Equal(t, int32(conns), cut.Load(), "every slow connection was cut")
	require.Less(t, time.Since(start), 16*time.Second, "the header timeout is 10s")

	// A trickling body: the read timeout (30 s) ends it.
	c, err := net.Dial("tcp", s.addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = fmt.Fprintf(c, "POST /api/webhooks/dwolla/v2 HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\nX-Forwarded-For: 198.51.100.41\r\n\r\n{")
	require.NoError(t, err)
	begin = time.Now()
	answered := false
	for time.Since(begin) < 45*time.Second {
		if _, err := c.Write([]byte(" ")); err != nil {
			answered = true
			break
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		line, err := bufio.NewReader(c).ReadString('\n')
		if line != "" || err != nil && !isTimeout(err) {
			answered = true
			break
		}
	}
	require.True(t, answered, "a trickling body was not cut off")
	require.Less(t, time.Since(begin), 40*time.Second)
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// duplicateFlood: 10,000 deliveries of one signed event. Every one gets 200
// (the first not a duplicate, the rest duplicates: Dwolla must never see an
// error for a duplicate), the event is stored once, and its delivery count
// is the number of 200s.
func duplicateFlood(t *testing.T, s *server) {
	t.Parallel()
	body := eventBody("hostile-dup")
	sig := dwolla.Sign([]byte(s.secret), body)
	var next atomic.Int32
	var ok, dup, other atomic.Int32
	var wg sync.WaitGroup
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= 10000 {
				status, _, raw, err := s.deliverSigned(body, sig, map[string]string{"X-Forwarded-For": "198.51.100.50"})
				if err != nil || status != http.StatusOK {
					other.Add(1)
					continue
				}
				ok.Add(1)
				var r struct {
					Duplicate bool `json:"duplicate"`
				}
				if json.Unmarshal(raw, &r) == nil && r.Duplicate {
					dup.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	require.Zero(t, other.Load(), "every duplicate gets 200")
	require.Equal(t, int32(10000), ok.Load())
	require.Equal(t, int32(9999), dup.Load())
	status, _, raw, err := s.deliverSigned(body, sig, map[string]string{"X-Forwarded-For": "198.51.100.50"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status)
	require.Contains(t, string(raw), `"duplicate":true`)
	db := openDB(t, s.env["DATABASE_URL"])
	var n, count int
	require.NoError(t, db.Read.QueryRow("SELECT COUNT(*), MAX(delivery_count) FROM webhook_events WHERE event_id = 'hostile-dup'").Scan(&n, &count))
	require.Equal(t, 1, n)
	require.Equal(t, 10001, count, "every acknowledged delivery is counted")
}

// floodFromOneAddress: 2,000 deliveries with bad signatures from one
// address, whose budget of rejections is 50 at once then 5 a second
// (HOOKLENS_WEBHOOK_SOURCE_LIMIT). The first 50 get 401, then only what
// refilled during the flood, the rest 429 with Retry-After — even a good
// delivery from that address, until its bucket refills; other addresses
// are served as usual. The bounds come from the flood's measured duration,
// not from how fast the machine is.
func floodFromOneAddress(t *testing.T, s *server) {
	t.Parallel()
	const (
		requests = 2000
		workers  = 16
		burst    = 50
		perSec   = 5
	)
	attacker := map[string]string{"X-Forwarded-For": "203.0.113.66"}
	body := eventBody("hostile-flood")
	var counts sync.Map
	var next atomic.Int32
	var lastSent atomic.Int64 // when the last flood request left, UnixNano
	var wg sync.WaitGroup
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= requests && ctx.Err() == nil {
				lastSent.Store(time.Now().UnixNano())
				status, h, _, err := s.deliverSigned(body, strings.Repeat("0", 64), attacker)
				if err != nil {
					status = 0
				}
				if status == http.StatusTooManyRequests && h.Get("Retry-After") == "" {
					status = -429
				}
				v, _ := counts.LoadOrStore(status, new(atomic.Int32))
				v.(*atomic.Int32).Add(1)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	// At once, while the bucket is still (nearly) empty.
	good := eventBody("hostile-flood-good")
	status, h, _, err := s.deliverSigned(good, dwolla.Sign([]byte(s.secret), good), attacker)
	quiet := time.Since(time.Unix(0, lastSent.Load()))
	require.NoError(t, err)
	if status == http.StatusOK {
		// Admitted: a token must have had time to refill since the last
		// charged rejection, which came after the last request left.
		require.GreaterOrEqual(t, quiet, time.Second/perSec,
			"a good delivery from the flooding address was admitted %s after the flood, before a token could refill", quiet)
	} else {
		require.Equal(t, http.StatusTooManyRequests, status, "the flooding address waits, even with a good delivery")
		require.NotEmpty(t, h.Get("Retry-After"))
	}

	got := map[int]int32{}
	counts.Range(func(k, v any) bool { got[k.(int)] = v.(*atomic.Int32).Load(); return true })
	t.Logf("flood answers in %s: %v", elapsed, got)
	require.Equal(t, int32(requests), got[401]+got[429], "only 401 and 429 (with Retry-After): %v", got)
	// The burst is spent first; then the bucket refills perSec a second
	// for the flood's duration. A request is checked before the rejection
	// of the ones in flight is charged, so up to one per worker more.
	allowed := burst + int32(math.Ceil(perSec*elapsed.Seconds())) + workers
	require.GreaterOrEqual(t, got[401], int32(burst), "the burst is %d", burst)
	require.LessOrEqual(t, got[401], allowed,
		"at most %d (burst) + %d/s over %s + %d in flight rejections reach the signature check", burst, perSec, elapsed, workers)

	good = eventBody("hostile-flood-other")
	status, _, _, err = s.deliverSigned(good, dwolla.Sign([]byte(s.secret), good), map[string]string{"X-Forwarded-For": "198.51.100.60"})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, status, "other addresses are not affected")
}
