package analytics

import (
	"bufio"
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/ent/journeyinstance"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/store"
)

// awkward are values that break naive CSV and JSON writers.
var awkward = []string{
	"plain", "a,b", `say "hi"`, "two\nlines", "cr\rinside", "crlf\r\nend", " padded ", "=HYPERLINK(\"x\")",
	"+1", "-2", "@SUM(A1)", "tab\tin", "ünïcödé ✓", "",
}

type exportBundle struct {
	db   *store.DB
	svc  *Service
	base time.Time
	// bodies by event id.
	bodies map[string][]byte
}

// reversed is a stand-in for the vault: it stores bodies backwards.
func reversed(b []byte) []byte {
	out := slices.Clone(b)
	slices.Reverse(out)
	return out
}

func setupExport(t *testing.T, db *store.DB) *exportBundle {
	t.Helper()
	ctx := context.Background()
	b := &exportBundle{db: db, base: time.Date(2026, 5, 4, 10, 0, 0, 0, time.UTC), bodies: map[string][]byte{}}
	topics := []string{"customer_transfer_created", "customer_transfer_failed", "customer_created", "bank_transfer_completed"}
	n := 0
	for batch := 0; batch < 6; batch++ {
		var evs []NewEventForTest
		for i := 0; i < 10; i++ {
			id := fmt.Sprintf("ev-%03d", n)
			corr := awkward[n%len(awkward)]
			body := fmt.Appendf(nil, "{\n  \"id\": %q,\n  \"topic\": %q,\n  \"correlationId\": %s\n}", id, topics[n%len(topics)], mustJSON(corr))
			b.bodies[id] = body
			evs = append(evs, NewEventForTest{id, topics[n%len(topics)], corr, body})
			n++
		}
		tx, err := db.Write.BeginTx(ctx, nil)
		require.NoError(t, err)
		var ne []store.NewEvent
		for _, e := range evs {
			enc := "identity"
			stored := e.body
			if strings.HasSuffix(e.id, "7") {
				enc, stored = "reversed", reversed(e.body)
			}
			ne = append(ne, store.NewEvent{
				EventID: e.id, Topic: e.topic, TopicKnown: true, CorrelationID: e.corr, ResourceType: "transfer",
				CustomerID: "cust-" + e.id[len(e.id)-1:], CreatedAt: b.base.Add(-time.Second), Body: stored,
				BodyEncoding: enc, BodySHA256: "sha", BodySize: len(e.body), Deliveries: 1,
			})
		}
		// Ten events share each receipt time: the keyset must break ties.
		_, err = db.InsertEvents(ctx, tx, b.base.Add(time.Duration(batch)*time.Minute), ne)
		require.NoError(t, err)
		require.NoError(t, tx.Commit())
	}
	_, err := db.Write.Exec(db.Rebind("UPDATE event_queue SET state = 'failed', last_error = ? WHERE webhook_event_id IN (SELECT id FROM webhook_events WHERE topic = 'customer_created')"),
		"boom,\n\"quoted\"")
	require.NoError(t, err)
	svc, err := New(db, Options{Now: func() time.Time { return b.base.Add(time.Hour) }, Open: func(enc string, stored []byte) ([]byte, error) {
		if enc == "reversed" {
			return reversed(stored), nil
		}
		return store.DecodeBody(enc, stored)
	}})
	require.NoError(t, err)
	svc.page = 7
	b.svc = svc
	return b
}

// NewEventForTest is one planned event of setupExport.
type NewEventForTest struct {
	id, topic, corr string
	body            []byte
}

func mustJSON(s string) string {
	raw, _ := json.Marshal(s)
	return string(raw)
}

func (b *exportBundle) export(t *testing.T, req ExportRequest) []byte {
	t.Helper()
	var buf bytes.Buffer
	flushes := 0
	n, err := b.svc.Export(context.Background(), &buf, req, func() error { flushes++; return nil })
	require.NoError(t, err)
	require.Positive(t, flushes)
	_ = n
	return buf.Bytes()
}

func TestExportFormats(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setupExport(t, db)

		// CSV parses back, field for field, with CRLF records.
		raw := b.export(t, ExportRequest{Type: ExportEvents, Format: FormatCSV, IncludePayload: true})
		require.True(t, bytes.HasSuffix(raw, []byte("\r\n")))
		require.NotContains(t, strings.ReplaceAll(string(raw), "\r\n", ""), "\n\"}", "rows end with CRLF")
		recs, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
		require.NoError(t, err)
		require.Equal(t, append(slices.Clone(eventColumns), "payload"), recs[0])
		require.Len(t, recs, 61)
		col := func(name string) int { return slices.Index(recs[0], name) }
		var ids []string
		for _, r := range recs[1:] {
			id := r[col("eventId")]
			ids = append(ids, id)
			var n int
			fmt.Sscanf(id, "ev-%d", &n)
			want := awkward[n%len(awkward)]
			if strings.ContainsRune("=+-@", rune(firstByte(want))) {
				want = "'" + want // the formula defence
			}
			// encoding/csv reads CRLF inside a quoted field as LF.
			require.Equal(t, strings.ReplaceAll(want, "\r\n", "\n"), r[col("correlationId")], id)
			require.Equal(t, strings.ReplaceAll(string(b.bodies[id]), "\r\n", "\n"), r[col("payload")], id)
			if r[col("topic")] == "customer_created" {
				require.Equal(t, "failed", r[col("processingState")])
				require.Equal(t, "boom,\n\"quoted\"", r[col("lastError")])
			}
			_, err := time.Parse(time.RFC3339Nano, r[col("receivedAt")])
			require.NoError(t, err)
		}
		require.True(t, slices.IsSorted(ids), "received order, ties by id")
		require.Len(t, slices.Compact(ids), 60, "no row twice across pages")

		// Without the defence the values are verbatim.
		raw = b.export(t, ExportRequest{Type: ExportEvents, Format: FormatCSV, Unsafe: true})
		recs, err = csv.NewReader(bytes.NewReader(raw)).ReadAll()
		require.NoError(t, err)
		require.Contains(t, flatten(recs), "=HYPERLINK(\"x\")")

		// JSON is one array; payloads are embedded as JSON.
		raw = b.export(t, ExportRequest{Type: ExportEvents, Format: FormatJSON, IncludePayload: true})
		var arr []map[string]any
		require.NoError(t, json.Unmarshal(raw, &arr))
		require.Len(t, arr, 60)
		for _, r := range arr {
			var want map[string]any
			require.NoError(t, json.Unmarshal(b.bodies[r["eventId"].(string)], &want))
			require.Equal(t, want, r["payload"])
			if want["correlationId"] != "" { // an empty id is stored as NULL
				require.Equal(t, want["correlationId"], r["correlationId"])
			}
		}

		// NDJSON is one object per line.
		raw = b.export(t, ExportRequest{Type: ExportEvents, Format: FormatNDJSON, IncludePayload: true})
		sc := bufio.NewScanner(bytes.NewReader(raw))
		lines := 0
		for sc.Scan() {
			var r map[string]any
			require.NoError(t, json.Unmarshal(sc.Bytes(), &r), "line %d: %s", lines, sc.Text())
			lines++
		}
		require.Equal(t, 60, lines)

		// An empty export is still well formed.
		raw = b.export(t, ExportRequest{Type: ExportEvents, Format: FormatJSON, Events: EventExportFilter{Topics: []string{"nope"}}})
		require.NoError(t, json.Unmarshal(raw, &arr))
		require.Empty(t, arr)
	})
}

func firstByte(s string) byte {
	if s == "" {
		return 0
	}
	return s[0]
}

func flatten(recs [][]string) []string {
	var out []string
	for _, r := range recs {
		out = append(out, r...)
	}
	return out
}

func TestExportFilters(t *testing.T) {
	t.Parallel()
	dbtest.ForEach(t, func(t *testing.T, db *store.DB) {
		b := setupExport(t, db)
		rows := func(f EventExportFilter, limit int) []map[string]any {
			raw := b.export(t, ExportRequest{Type: ExportEvents, Format: FormatNDJSON, Events: f, Limit: limit})
			var out []map[string]any
			dec := json.NewDecoder(bytes.NewReader(raw))
			for {
				var r map[string]any
				if err := dec.Decode(&r); err == io.EOF {
					break
				} else {
					require.NoError(t, err)
				}
				out = append(out, r)
			}
			return out
		}
		count := func(q string, args ...any) int {
			var n int
			require.NoError(t, db.Read.QueryRow(db.Rebind(q), args...).Scan(&n))
			return n
		}
		require.Len(t, rows(EventExportFilter{Topics: []string{"customer_created"}}, 0), count("SELECT COUNT(*) FROM webhook_events WHERE topic = 'customer_created'"))
		require.Len(t, rows(EventExportFilter{TopicPrefix: "customer_transfer_"}, 0), 30)
		require.Len(t, rows(EventExportFilter{Families: []string{"bank_transfer"}}, 0), 15)
		require.Len(t, rows(EventExportFilter{Families: []string{"transfer"}, Topics: []string{"customer_transfer_failed"}}, 0), 15)
		require.Len(t, rows(EventExportFilter{States: []string{"failed"}}, 0), 15)
		require.Len(t, rows(EventExportFilter{From: b.base.Add(2 * time.Minute), To: b.base.Add(4 * time.Minute)}, 0), 20)
		require.Len(t, rows(EventExportFilter{CustomerID: "CUST-3"}, 0), 6)
		require.Len(t, rows(EventExportFilter{CorrelationID: "a,b"}, 0), count("SELECT COUNT(*) FROM webhook_events WHERE correlation_id = 'a,b'"))
		require.Len(t, rows(EventExportFilter{Sources: []string{"sync"}}, 0), 0)
		require.Len(t, rows(EventExportFilter{}, 9), 9)

		// Journeys, by status.
		for i := 0; i < 12; i++ {
			st := journeyinstance.StatusActive
			if i%3 == 0 {
				st = journeyinstance.StatusStuck
			}
			_, err := db.Client.JourneyInstance.Create().SetDefinitionKey("transfer").SetDefinitionVersion(1).
				SetCorrelationKey(fmt.Sprintf("k%02d", i)).SetStatus(st).SetStartedAt(b.base.Add(time.Duration(i) * time.Second)).
				SetLastEventAt(b.base).SetNote(awkward[i%len(awkward)]).Save(context.Background())
			require.NoError(t, err)
		}
		raw := b.export(t, ExportRequest{Type: ExportJourneys, Format: FormatCSV, Journeys: JourneyFilter{Statuses: []string{"stuck"}}})
		recs, err := csv.NewReader(bytes.NewReader(raw)).ReadAll()
		require.NoError(t, err)
		require.Equal(t, journeyColumns, recs[0])
		require.Len(t, recs, 5)
		raw = b.export(t, ExportRequest{Type: ExportJourneys, Format: FormatJSON})
		var arr []map[string]any
		require.NoError(t, json.Unmarshal(raw, &arr))
		require.Len(t, arr, 12)
	})
}

func TestExportOverHTTP(t *testing.T) {
	t.Parallel()
	db := dbtest.Open(t, "sqlite")
	b := setupExport(t, db)
	srv := httptest.NewServer(NewHandler(b.svc, nil))
	defer srv.Close()

	q := url.Values{"type": {"events"}, "format": {"csv"}, "topicHasPrefix": {"customer_"}, "includePayload": {"true"}}
	resp, err := http.Get(srv.URL + "/api/analytics/export?" + q.Encode())
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/csv; charset=utf-8", resp.Header.Get("Content-Type"))
	require.Equal(t, `attachment; filename="hooklens-events-20260504T110000Z.csv"`, resp.Header.Get("Content-Disposition"))
	recs, err := csv.NewReader(resp.Body).ReadAll()
	require.NoError(t, err)
	require.Len(t, recs, 46)

	for _, c := range []struct{ query, field string }{
		{"format=xml", "format"},
		{"type=customers", "type"},
		{"topc=customer_created", "topc"},
		{"from=yesterday", "from"},
		{"state=done", "state"},
	} {
		resp, err := http.Get(srv.URL + "/api/analytics/export?" + c.query)
		require.NoError(t, err)
		var body struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		require.Equal(t, http.StatusBadRequest, resp.StatusCode, c.query)
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		resp.Body.Close()
		require.Equal(t, "bad_request", body.Error.Code)
		require.Contains(t, body.Error.Message, c.field)
	}
	resp, err = http.Post(srv.URL+"/api/analytics/export", "text/plain", nil)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode)
}
