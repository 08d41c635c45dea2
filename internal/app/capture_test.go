package app_test

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/apptest"
	"github.com/hooklens/hooklens/internal/config"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/ingest"
)

func eventBody(id, topic string) []byte {
	return fmt.Appendf(nil, `{"id":%q,"topic":%q,"created":"2024-03-01T12:00:00.000Z","resourceId":"11111111-2222-3333-4444-555555555555",`+
		`"_links":{"resource":{"href":"https://api-sandbox.dwolla.com/customers/11111111-2222-3333-4444-555555555555"},`+
		`"customer":{"href":"https://api-sandbox.dwolla.com/customers/11111111-2222-3333-4444-555555555555"}}}`, id, topic)
}

func receive(t *testing.T, s *apptest.Server, body []byte) (int, ingest.Response) {
	t.Helper()
	resp := s.Deliver(body)
	var r ingest.Response
	if resp.StatusCode == http.StatusOK {
		apptest.ReadJSON(t, resp, &r)
	} else {
		resp.Body.Close()
	}
	return resp.StatusCode, r
}

type eventNode struct {
	ID              string         `json:"id"`
	EventID         string         `json:"eventID"`
	Topic           string         `json:"topic"`
	ResourceType    string         `json:"resourceType"`
	ResourceID      string         `json:"resourceID"`
	CustomerID      string         `json:"customerID"`
	DeliveryCount   int            `json:"deliveryCount"`
	ProcessingState string         `json:"processingState"`
	Payload         map[string]any `json:"payload"`
}

const eventsQuery = `query($where: WebhookEventWhereInput, $first: Int) {
  events(where: $where, first: $first) {
    totalCount
    edges { node { id eventID topic resourceType resourceID customerID deliveryCount processingState payload } }
  }
}`

type eventsResult struct {
	Events struct {
		TotalCount int `json:"totalCount"`
		Edges      []struct {
			Node eventNode `json:"node"`
		} `json:"edges"`
	} `json:"events"`
}

func TestReceiveStoreQuerySubscribe(t *testing.T) {
	t.Parallel()
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, kind, apptest.Options{})

			ws, ack, err := s.DialWS("graphql-transport-ws", nil, map[string]any{"authorization": "Bearer " + s.Viewer})
			require.NoError(t, err)
			require.Equal(t, "connection_ack", ack.Type)
			ws.SubscribeWait("1", `subscription { eventReceived(topics: ["customer_created"]) { eventID topic deliveryCount } }`, nil)

			// A topic the subscriber did not ask for is not sent to it.
			code, _ := receive(t, s, eventBody("ev-other", "customer_verified"))
			require.Equal(t, http.StatusOK, code)

			body := eventBody("29a82d20-a703-41cb-9b3c-bd409c499925", "customer_created")
			code, r := receive(t, s, body)
			require.Equal(t, http.StatusOK, code)
			require.Equal(t, ingest.Response{Received: true, Duplicate: false, EventID: "29a82d20-a703-41cb-9b3c-bd409c499925"}, r)

			var got struct {
				EventReceived struct {
					EventID string `json:"eventID"`
					Topic   string `json:"topic"`
				} `json:"eventReceived"`
			}
			ws.NextData(5*time.Second, &got)
			require.Equal(t, "29a82d20-a703-41cb-9b3c-bd409c499925", got.EventReceived.EventID)
			require.Equal(t, "customer_created", got.EventReceived.Topic)

			// The same event again: acknowledged as a duplicate, counted, not re-stored.
			code, r = receive(t, s, body)
			require.Equal(t, http.StatusOK, code)
			require.True(t, r.Duplicate)

			var res eventsResult
			where := map[string]any{"where": map[string]any{"eventID": "29a82d20-a703-41cb-9b3c-bd409c499925"}}
			// Stored, then processed by the pipeline a moment later.
			require.Eventually(t, func() bool {
				s.MustGraphQL(eventsQuery, where, &res)
				return res.Events.Edges[0].Node.ProcessingState == "processed"
			}, 5*time.Second, 20*time.Millisecond)
			require.Equal(t, 1, res.Events.TotalCount)
			n := res.Events.Edges[0].Node
			require.Equal(t, 2, n.DeliveryCount)
			require.Equal(t, "customer", n.ResourceType)
			require.Equal(t, "11111111-2222-3333-4444-555555555555", n.CustomerID)
			require.Equal(t, "customer_created", n.Payload["topic"])

			// The raw body is kept byte for byte, and node(id:) resolves it.
			var one struct {
				Node struct {
					RawBody    string `json:"rawBody"`
					Deliveries struct {
						TotalCount int `json:"totalCount"`
					} `json:"deliveries"`
				} `json:"node"`
			}
			s.MustGraphQL(`query($id: ID!) { node(id: $id) { ... on WebhookEvent { rawBody deliveries { totalCount } } } }`,
				map[string]any{"id": n.ID}, &one)
			require.Equal(t, string(body), one.Node.RawBody)
			require.Equal(t, 2, one.Node.Deliveries.TotalCount)

			// A wrong signature is refused and stores nothing but a rejection record.
			resp := s.DeliverSigned(eventBody("ev-forged", "customer_created"), dwolla.Sign([]byte("wrong"), body), nil)
			require.Equal(t, http.StatusUnauthorized, resp.StatusCode)
			var e struct {
				Error struct{ Code string } `json:"error"`
			}
			apptest.ReadJSON(t, resp, &e)
			require.Equal(t, "bad_signature", e.Error.Code)
			s.MustGraphQL(eventsQuery, map[string]any{"where": map[string]any{"eventID": "ev-forged"}}, &res)
			require.Equal(t, 0, res.Events.TotalCount)

			// Filters: topic prefix, and the rejection shows up in deliveries.
			s.MustGraphQL(eventsQuery, map[string]any{"where": map[string]any{"topicHasPrefix": "customer_"}}, &res)
			require.Equal(t, 2, res.Events.TotalCount)
			var dels struct {
				Deliveries struct {
					TotalCount int `json:"totalCount"`
					Edges      []struct {
						Node struct {
							Outcome    string `json:"outcome"`
							BodySha256 string `json:"bodySha256"`
						} `json:"node"`
					} `json:"edges"`
				} `json:"deliveries"`
			}
			require.Eventually(t, func() bool {
				s.MustGraphQL(`{ deliveries(where: {outcome: bad_signature}) { totalCount edges { node { outcome bodySha256 } } } }`, nil, &dels)
				return dels.Deliveries.TotalCount == 1
			}, 5*time.Second, 20*time.Millisecond)
			require.Len(t, dels.Deliveries.Edges[0].Node.BodySha256, 64)
		})
	}
}

// deliverAll sends every body from workers goroutines and returns how many
// answers said new (not duplicate). Every answer must be 200.
func deliverAll(t *testing.T, s *apptest.Server, bodies [][]byte, workers int) int {
	t.Helper()
	var mu sync.Mutex
	fresh := 0
	var wg sync.WaitGroup
	next := make(chan []byte)
	errs := make(chan error, len(bodies))
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for b := range next {
				resp := s.Deliver(b)
				var r ingest.Response
				if resp.StatusCode != http.StatusOK {
					resp.Body.Close()
					errs <- fmt.Errorf("status %d", resp.StatusCode)
					continue
				}
				if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
					errs <- err
				}
				resp.Body.Close()
				if !r.Duplicate {
					mu.Lock()
					fresh++
					mu.Unlock()
				}
			}
		}()
	}
	for _, b := range bodies {
		next <- b
	}
	close(next)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	return fresh
}

// deliveryCounts reads every stored event's delivery count.
func deliveryCounts(t *testing.T, s *apptest.Server) map[string]int {
	t.Helper()
	rows, err := s.App.DB.Read.QueryContext(context.Background(), "SELECT event_id, delivery_count FROM webhook_events")
	require.NoError(t, err)
	defer rows.Close()
	got := map[string]int{}
	for rows.Next() {
		var id string
		var n int
		require.NoError(t, rows.Scan(&id, &n))
		got[id] = n
	}
	require.NoError(t, rows.Err())
	return got
}

func TestConcurrentDeliveriesWithDuplicates(t *testing.T) {
	t.Parallel()
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, kind, apptest.Options{})
			const total, unique = 2000, 1600 // 20 % of deliveries are duplicates
			want := map[string]int{}
			var bodies [][]byte
			ids := make([]string, unique)
			for i := range ids {
				ids[i] = fmt.Sprintf("evt-%04d", i)
				want[ids[i]] = 1
				bodies = append(bodies, eventBody(ids[i], "customer_transfer_created"))
			}
			rng := rand.New(rand.NewPCG(1, 2))
			for len(bodies) < total {
				id := ids[rng.IntN(unique)]
				want[id]++
				bodies = append(bodies, eventBody(id, "customer_transfer_created"))
			}
			rng.Shuffle(len(bodies), func(i, j int) { bodies[i], bodies[j] = bodies[j], bodies[i] })

			fresh := deliverAll(t, s, bodies, 50)
			require.Equal(t, unique, fresh, "exactly one delivery of each event is acknowledged as new")
			require.Equal(t, want, deliveryCounts(t, s))

			var accepted, duplicates int
			require.NoError(t, s.App.DB.Read.QueryRow(`SELECT
				SUM(CASE WHEN outcome = 'accepted' THEN 1 ELSE 0 END),
				SUM(CASE WHEN outcome = 'duplicate' THEN 1 ELSE 0 END) FROM webhook_deliveries`).Scan(&accepted, &duplicates))
			require.Equal(t, unique, accepted)
			require.Equal(t, total-unique, duplicates)
		})
	}
}

func TestCapturesShuffledWithDuplicates(t *testing.T) {
	t.Parallel()
	caps, err := dwolla.LoadCaptures("../dwolla/testdata/captures")
	require.NoError(t, err)
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, kind, apptest.Options{})
			rng := rand.New(rand.NewPCG(7, 9))
			want := map[string]int{}
			var bodies [][]byte
			for _, c := range caps {
				var p struct{ ID string }
				require.NoError(t, json.Unmarshal(c.Payload, &p))
				for n := 1 + rng.IntN(3); n > 0; n-- {
					bodies = append(bodies, c.Payload)
					want[p.ID]++
				}
			}
			rng.Shuffle(len(bodies), func(i, j int) { bodies[i], bodies[j] = bodies[j], bodies[i] })
			fresh := deliverAll(t, s, bodies, 10)
			require.Equal(t, 43, fresh)
			require.Equal(t, want, deliveryCounts(t, s))
		})
	}
}

func TestRejections(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{Configure: func(c *config.Config) { c.MaxBodyBytes = 4096 }})
	post := func(body []byte, sig, contentType string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, s.URL+ingest.Path, bytesReader(body))
		if contentType != "" {
			req.Header.Set("Content-Type", contentType)
		}
		if sig != "" {
			req.Header.Set(dwolla.SignatureHeader, sig)
		}
		resp, err := s.Client.Do(req)
		require.NoError(t, err)
		var e struct {
			Error struct{ Code string } `json:"error"`
		}
		if resp.StatusCode != http.StatusOK {
			apptest.ReadJSON(t, resp, &e)
		} else {
			resp.Body.Close()
		}
		return resp.StatusCode, e.Error.Code
	}
	sign := func(b []byte) string { return dwolla.Sign([]byte(apptest.Secret), b) }
	big := append(eventBody("big", "customer_created")[:10], make([]byte, 5000)...)
	malformed := []byte(`{"id":"x","topic":"customer_created"}`)
	cases := []struct {
		name       string
		body       []byte
		sig, ctype string
		status     int
		code       string
	}{
		{"too large", big, sign(big), "application/json", 413, "too_large"},
		{"missing signature", eventBody("a", "customer_created"), "", "application/json", 401, "bad_signature"},
		{"missing created", malformed, sign(malformed), "application/json", 400, "malformed_event"},
		{"not json", []byte("hello"), sign([]byte("hello")), "application/json", 400, "malformed_event"},
		{"wrong content type", eventBody("b", "customer_created"), sign(eventBody("b", "customer_created")), "text/plain", 415, "unsupported_media_type"},
		{"json with charset", eventBody("c", "customer_created"), sign(eventBody("c", "customer_created")), "application/json; charset=utf-8", 200, ""},
	}
	for _, c := range cases {
		status, code := post(c.body, c.sig, c.ctype)
		require.Equal(t, c.status, status, c.name)
		require.Equal(t, c.code, code, c.name)
	}
	// Only the one good delivery was stored.
	require.Equal(t, map[string]int{"c": 1}, deliveryCounts(t, s))

	// A topic header that disagrees with the body is stored and flagged; an
	// unknown topic is stored and flagged.
	b := eventBody("d", "customer_teleported")
	resp := s.DeliverSigned(b, sign(b), map[string]string{dwolla.TopicHeader: "customer_created"})
	require.Equal(t, 200, resp.StatusCode)
	resp.Body.Close()
	var res struct {
		Event struct {
			TopicMismatch bool   `json:"topicMismatch"`
			TopicKnown    bool   `json:"topicKnown"`
			HeaderTopic   string `json:"headerTopic"`
		} `json:"event"`
	}
	s.MustGraphQL(`{ event(eventID: "d") { topicMismatch topicKnown headerTopic } }`, nil, &res)
	require.True(t, res.Event.TopicMismatch)
	require.False(t, res.Event.TopicKnown)
	require.Equal(t, "customer_created", res.Event.HeaderTopic)

	// The health answer on GET.
	hresp, err := s.Client.Get(s.URL + ingest.Path)
	require.NoError(t, err)
	var h ingest.Health
	apptest.ReadJSON(t, hresp, &h)
	require.Equal(t, ingest.Health{Status: "ok", SecretConfigured: true, Storage: "ok", MaxBodyBytes: 4096}, h)
}

func TestNoSecretConfigured(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{Configure: func(c *config.Config) { c.WebhookSecrets = nil }})
	resp := s.Deliver(eventBody("a", "customer_created"))
	require.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
	var e struct {
		Error struct{ Code, Message string } `json:"error"`
	}
	apptest.ReadJSON(t, resp, &e)
	require.Equal(t, "not_configured", e.Error.Code)
	require.Contains(t, e.Error.Message, "DWOLLA_WEBHOOK_SECRET")
	// The rest of the server works.
	var v struct {
		Viewer struct{ Role string } `json:"viewer"`
	}
	s.MustGraphQL(`{ viewer { role } }`, nil, &v)
	require.Equal(t, "admin", v.Viewer.Role)
}

func TestDatabaseDown(t *testing.T) {
	t.Parallel()
	short := func(c *config.Config) { c.IngestTimeout = 500 * time.Millisecond }

	t.Run("sqlite locked", func(t *testing.T) {
		t.Parallel()
		path := dbtest.URL(t, "sqlite")
		s := apptest.Start(t, "sqlite", apptest.Options{DatabaseURL: path, Configure: short})
		// Another process holding the write lock makes the database
		// unwritable, as a stuck writer or a full disk would.
		locker, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(100)")
		require.NoError(t, err)
		defer locker.Close()
		conn, err := locker.Conn(context.Background())
		require.NoError(t, err)
		_, err = conn.ExecContext(context.Background(), "BEGIN EXCLUSIVE")
		require.NoError(t, err)

		start := time.Now()
		code, _ := receive(t, s, eventBody("while-locked", "customer_created"))
		require.Equal(t, http.StatusServiceUnavailable, code)
		require.Less(t, time.Since(start), 5*time.Second, "503 well inside Dwolla's 10 s")

		_, err = conn.ExecContext(context.Background(), "ROLLBACK")
		require.NoError(t, err)
		conn.Close()
		require.Eventually(t, func() bool {
			code, _ := receive(t, s, eventBody("after-unlock", "customer_created"))
			return code == http.StatusOK
		}, 15*time.Second, 100*time.Millisecond)
		// The event refused with 503 was not acknowledged; Dwolla resends it.
		code, r := receive(t, s, eventBody("while-locked", "customer_created"))
		require.Equal(t, http.StatusOK, code)
		_ = r
	})

	t.Run("postgres unreachable", func(t *testing.T) {
		t.Parallel()
		dbURL := dbtest.NewPostgres(t)
		u, err := url.Parse(dbURL)
		require.NoError(t, err)
		proxy := dbtest.NewProxy(t, u.Host)
		s := apptest.Start(t, "postgres", apptest.Options{DatabaseURL: proxy.Rewrite(dbURL), Configure: short})
		code, _ := receive(t, s, eventBody("before", "customer_created"))
		require.Equal(t, http.StatusOK, code)

		proxy.Cut()
		start := time.Now()
		code, _ = receive(t, s, eventBody("during", "customer_created"))
		require.Equal(t, http.StatusServiceUnavailable, code)
		require.Less(t, time.Since(start), 6*time.Second)
		readyz, err := s.Client.Get(s.URL + "/readyz")
		require.NoError(t, err)
		readyz.Body.Close()
		require.Equal(t, http.StatusServiceUnavailable, readyz.StatusCode)

		proxy.Restore()
		require.Eventually(t, func() bool {
			code, _ := receive(t, s, eventBody("during", "customer_created"))
			return code == http.StatusOK
		}, 20*time.Second, 200*time.Millisecond)
		got := deliveryCounts(t, s)
		require.Equal(t, 1, got["before"])
		require.GreaterOrEqual(t, got["during"], 1)
	})
}

func bytesReader(b []byte) *bytes.Reader { return bytes.NewReader(b) }
