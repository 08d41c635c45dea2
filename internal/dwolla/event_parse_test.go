package dwolla_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/dwolla"
	"github.com/hooklens/hooklens/internal/simulate"
)

// received is the receipt time of the differential tests: the captures
// (December 2021) are then within CreatedMaxAge, some of the generated
// variants are not.
var received = time.Date(2022, 1, 10, 12, 0, 0, 0, time.UTC)

// isRefusal reports whether err is the scanner refusing a duplicate or
// case-variant member, which the encoding/json parser never did.
func isRefusal(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "duplicate key") || strings.Contains(err.Error(), "case variant"))
}

// requireSameAsStdlib holds ParseEventAt to the encoding/json parser it
// replaced: the same event, or the same error, for body. The one intended
// difference, refusing duplicate and case-variant members, is counted.
func requireSameAsStdlib(t *testing.T, body []byte) (refused bool) {
	t.Helper()
	want, wantErr := dwolla.ParseEventStdlib(body, received)
	got, err := dwolla.ParseEventAt(body, received)
	if isRefusal(err) {
		require.True(t, dwolla.IsParseError(err))
		return true
	}
	if wantErr != nil {
		require.Error(t, err, "body %q: encoding/json said %v", body, wantErr)
		require.Equal(t, wantErr.Error(), err.Error(), "body %q", body)
		require.True(t, dwolla.IsParseError(err))
		return false
	}
	require.NoError(t, err, "body %q", body)
	require.Equal(t, want, got, "body %q", body)
	return false
}

func loadCapturePayloads(t testing.TB) [][]byte {
	t.Helper()
	caps, err := dwolla.LoadCaptures("testdata/captures")
	require.NoError(t, err)
	require.NotEmpty(t, caps)
	out := make([][]byte, len(caps))
	for i, c := range caps {
		out[i] = c.Payload
	}
	return out
}

func compact(t testing.TB, body []byte) []byte {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, json.Compact(&buf, body))
	return buf.Bytes()
}

// simulatedBodies renders n lifecycles of the simulator: bodies byte for
// byte as fakedwolla and Dwolla write them, every topic and resource kind.
func simulatedBodies(t testing.TB, n int) [][]byte {
	t.Helper()
	g, err := simulate.NewGenerator(simulate.Config{Seed: 20})
	require.NoError(t, err)
	var out [][]byte
	start := received.Add(-48 * time.Hour)
	for range n {
		evs, err := g.Render(g.Next(), start)
		require.NoError(t, err)
		for _, ev := range evs {
			out = append(out, ev.Body)
		}
	}
	return out
}

func TestParseEventMatchesStdlibOnCapturesAndTraffic(t *testing.T) {
	t.Parallel()
	for _, body := range loadCapturePayloads(t) {
		require.False(t, requireSameAsStdlib(t, body))
		require.False(t, requireSameAsStdlib(t, compact(t, body)))
		var indented bytes.Buffer
		require.NoError(t, json.Indent(&indented, body, "\t", "  "))
		require.False(t, requireSameAsStdlib(t, indented.Bytes()))
	}
	bodies := simulatedBodies(t, 300)
	require.Greater(t, len(bodies), 1000)
	for _, body := range bodies {
		require.False(t, requireSameAsStdlib(t, body))
	}
}

// TestParseEventMatchesStdlibOnMutations breaks real bodies one byte at a
// time, everywhere: truncated, a byte deleted, replaced or inserted. Each
// variant gets the same event or the same error (with the same byte
// offset) from both parsers.
func TestParseEventMatchesStdlibOnMutations(t *testing.T) {
	t.Parallel()
	caps := loadCapturePayloads(t)
	bodies := [][]byte{
		compact(t, caps[0]),
		caps[len(caps)-1][:min(len(caps[len(caps)-1]), 600)],
		[]byte(`{"id":"ev-1","topic":"customer_created","created":"2022-01-03T19:49:55.797Z","resourceId":"A\u00e9\ud83d\ude00","correlationId":"x\n",` +
			`"_links":{"resource":{"href":"https://api.dwolla.com/customers/AB-1","resource-type":"customer","type":"t"},"self":{"href":"x"},"customer":null},` +
			`"extra":[1,-2.5e+3,true,false,null,{"a":[]},{},"s"]}`),
	}
	subst := []byte("\"\\{}[],: \tx0-1.eE+nul\x01\x7f/")
	for _, body := range bodies {
		variant := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
		for i := 0; i <= len(body); i++ {
			requireSameAsStdlib(t, body[:i])
			if i == len(body) {
				break
			}
			requireSameAsStdlib(t, variant(body[:i], body[i+1:]))
			for _, c := range subst {
				requireSameAsStdlib(t, variant(body[:i], []byte{c}, body[i+1:]))
				requireSameAsStdlib(t, variant(body[:i], []byte{c}, body[i:]))
			}
		}
	}
}

// TestParseEventMatchesStdlibOnFieldVariants varies each member hooklens
// reads: escapes, surrogates, nulls, wrong types, spaces, times, links and
// their URLs.
func TestParseEventMatchesStdlibOnFieldVariants(t *testing.T) {
	t.Parallel()
	const tmpl = `{"id":%s,"topic":%s,"created":%s,"timestamp":%s,"resourceId":%s,"correlationId":%s,"_links":%s}`
	good := []string{`"ev-1"`, `"transfer_created"`, `"2022-01-03T19:49:55.797Z"`, `"2022-01-03T19:49:55.797Z"`, `"48CFDDB4-1E74"`, `"order-7"`,
		`{"resource":{"href":"https://api-sandbox.dwolla.com/transfers/48CFDDB4"},"customer":{"href":"https://api-sandbox.dwolla.com/customers/C1"},"account":{"href":"https://api-sandbox.dwolla.com/accounts/A1"}}`}
	strs := []string{
		`null`, `1`, `true`, `[]`, `{}`, `""`, `" "`, `"\u0020x\u00a0"`, `"e\u0076-1"`, `"ev\/1"`, `"ev\\1"`, `"\ud83d\ude00"`,
		`"\ud83d"`, `"\ud83dx"`, `"\ude00\ud83d"`, `"\ud83d\u0041"`, `"\u0000"`, `"a\tb"`, `"A:b.c_d-E"`, `"` + strings.Repeat("a", 129) + `"`,
		`"2022-01-03T19:49:55Z"`, `"2022-01-03T19:49:55+01:00"`, `"2022-01-03 19:49:55Z"`, `"0001-01-01T00:00:00Z"`, `"9999-12-31T23:59:59.999999999Z"`,
		`"2022-01-10T12:04:00Z"`, `"2022-01-10T12:06:00Z"`, `" 2022-01-03T19:49:55.797Z "`, `"2022-02-30T00:00:00Z"`,
	}
	links := []string{
		`null`, `[]`, `"x"`, `1`, `{}`, `{"resource":null}`, `{"resource":"x"}`, `{"resource":[]}`, `{"self":1}`, `{"self":{"href":1}}`,
		`{"self":{"HREF":1}}`, `{"self":{"Type":[]}}`, `{"self":{"resource-TYPE":{}}}`, `{"self":{"other":{"href":1}}}`,
		`{"resource":{"href":null}}`, `{"resource":{"href":"https://x/transfers/T1","type":null,"resource-type":"Transfer"}}`,
		`{"resource":{"href":"https://x/funding-sources/F1/"}}`, `{"resource":{"href":"https://x/F1"}}`, `{"resource":{"href":"https://x"}}`,
		`{"resource":{"href":"https://user:pw@x/transfers/T%41?q=1#f"}}`, `{"resource":{"href":"HTTPS://X:443/Transfers/T1"}}`,
		`{"resource":{"href":"https://x:abc/transfers/T1"}}`, `{"resource":{"href":"https://x:1:2/transfers/T1"}}`, `{"resource":{"href":"https://x:/a/b"}}`,
		`{"resource":{"href":"/transfers/T1"}}`, `{"resource":{"href":"transfers/T1"}}`, `{"resource":{"href":"https://x//a//b//"}}`,
		`{"resource":{"href":"https://x/a%2Fb/c"}}`, `{"resource":{"href":"https://x/a/%zz"}}`, `{"resource":{"href":"https://[::1]/a/b"}}`,
		`{"resource":{"href":"https://x/mass-payment-items/M1"}}`, `{"resource":{"href":"https://x/ledger-entries/L1"}}`, `{"resource":{"href":"https://x/widgets/W1"}}`,
		`{"resource":{"href":"https://x/a b/c"}}`, `{"resource":{"href":"https://x/\u0041/\u00e9"}}`, `{"resource":{"href":"http://x/a/b~c"}}`,
		`{"customer":{"href":"https://x/customers/CÄ"}}`, `{"account":{"href":""}}`, `{"account":{"href":"mailto:a@b"}}`,
		`{"resource":{"href":"https://x/transfers/T1"},"self":{"href":"https://x/events/E"},"self":{"href":1}}`,
	}
	var bodies []string
	for f := range good {
		for _, v := range strs {
			vals := append([]string(nil), good...)
			vals[f] = v
			bodies = append(bodies, fmt.Sprintf(tmpl, toAny(vals)...))
		}
	}
	for _, l := range links {
		vals := append([]string(nil), good...)
		vals[6] = l
		bodies = append(bodies, fmt.Sprintf(tmpl, toAny(vals)...))
	}
	// Members left out, and created falling back to timestamp.
	bodies = append(bodies,
		`{"id":"a","topic":"t","timestamp":"2022-01-03T19:49:55.797Z"}`,
		`{"id":"a","topic":"t","created":null,"timestamp":"2022-01-03T19:49:55.797Z"}`,
		`{"id":"a","topic":"t","created":null,"timestamp":null}`,
		`{"id":"a","topic":"t","created":5,"timestamp":"2022-01-03T19:49:55.797Z"}`,
		`{"id":"a","topic":"t"}`, `{"topic":"t"}`, `{"id":"a"}`, `{}`, ` {} `, "\r\n\t{}\n",
		`{"id":"a","topic":"customer_created","created":"2022-01-03T19:49:55Z"}`,
		`{"id":"a","topic":"customer_created","created":"2022-01-03T19:49:55Z","_links":{"resource":{"href":"https://x/y"}}}`,
		`{"_links":{},"id":"a","topic":"t","created":"2022-01-03T19:49:55Z"}`,
		`{"x":`+strings.Repeat(`[{"y":`, 4999)+`1`+strings.Repeat(`}]`, 4999)+`,"id":"a","topic":"t","created":"2022-01-03T19:49:55Z"}`,
		`{"x":`+strings.Repeat(`[`, 9999)+strings.Repeat(`]`, 9999)+`,"id":"a","topic":"t","created":"2022-01-03T19:49:55Z"}`,
		`{"x":`+strings.Repeat(`[`, 10000)+strings.Repeat(`]`, 10000)+`,"id":"a","topic":"t","created":"2022-01-03T19:49:55Z"}`,
		`{"_links":{"self":`+strings.Repeat(`[`, 9998)+strings.Repeat(`]`, 9998)+`},"id":"a","topic":"t","created":"2022-01-03T19:49:55Z"}`,
		`{"_links":{"self":`+strings.Repeat(`[`, 9999)+strings.Repeat(`]`, 9999)+`},"id":"a","topic":"t","created":"2022-01-03T19:49:55Z"}`,
		`{"id":"a","topic":"t","created":"2022-01-03T19:49:55Z"} {}`,
		`{"id":"a","topic":"t","created":"2022-01-03T19:49:55Z"}x`,
		"{\"id\":\"a\",\"topic\":\"t\xc3\xa9\",\"created\":\"2022-01-03T19:49:55Z\"}",
		"{\"id\":\"a\",\"topic\":\"t\",\"created\":\"2022-01-03T19:49:55Z\",\"\xc3\xa9\":\"\xe2\x82\xac\"}",
		"\xff{}", `[]`, `"x"`, ``, `   `, `nul`, `{"a":01}`, `{"a":-}`, `{"a":1.}`, `{"a":1e}`, `{"a":.5}`, `{"a":+1}`, `{"a":"\x"}`, `{"a":"\u12"}`,
	)
	for _, b := range bodies {
		requireSameAsStdlib(t, []byte(b))
	}
}

func toAny(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// TestParseEventMatchesStdlibOnRandomBodies builds random objects from the
// member names hooklens reads and others, nested at random, and compares.
func TestParseEventMatchesStdlibOnRandomBodies(t *testing.T) {
	t.Parallel()
	rnd := rand.New(rand.NewPCG(12, 20))
	keys := []string{"id", "topic", "created", "timestamp", "resourceId", "correlationId", "_links", "resource", "customer", "account",
		"href", "type", "resource-type", "self", "x", "Id", "TOPIC", "\\u0069d", "reſourceId", "\\u0068ref", "ａ"}
	scalars := []string{`"ev-1"`, `"transfer_created"`, `"2022-01-03T19:49:55.797Z"`, `"https://x/transfers/T1"`, `"customer"`, `null`, `1`, `-0.5e3`,
		`true`, `""`, `"\u00e9\ud800"`, `"A-B"`}
	var value func(depth int) string
	value = func(depth int) string {
		switch n := rnd.IntN(10); {
		case n < 6 || depth > 3:
			return scalars[rnd.IntN(len(scalars))]
		case n < 9:
			var b strings.Builder
			b.WriteByte('{')
			for i := range rnd.IntN(5) {
				if i > 0 {
					b.WriteByte(',')
				}
				fmt.Fprintf(&b, "%q:%s", keys[rnd.IntN(len(keys))], value(depth+1))
			}
			b.WriteByte('}')
			return strings.ReplaceAll(b.String(), `\\u`, `\u`)
		default:
			return "[" + value(depth+1) + "," + value(depth+1) + "]"
		}
	}
	accepted, refused := 0, 0
	for range 20000 {
		var b strings.Builder
		b.WriteString(`{"id":"ev-1","topic":"transfer_created","created":"2022-01-03T19:49:55.797Z"`)
		for range rnd.IntN(4) {
			fmt.Fprintf(&b, ",%q:%s", keys[rnd.IntN(len(keys))], value(0))
		}
		b.WriteByte('}')
		body := strings.ReplaceAll(b.String(), `\\u`, `\u`)
		if requireSameAsStdlib(t, []byte(body)) {
			refused++
		} else if _, err := dwolla.ParseEventAt([]byte(body), received); err == nil {
			accepted++
		}
	}
	// Both outcomes are well represented, or the generator tests nothing.
	require.Greater(t, accepted, 2000)
	require.Greater(t, refused, 2000)
}

// TestParseEventRefusesAmbiguousMembers: a member hooklens reads that
// appears twice or under a case variant is refused, since hooklens'
// columns and another parser of the stored body could disagree. The old
// encoding/json parser took the last duplicate and matched keys ignoring
// case; each body here parsed before.
func TestParseEventRefusesAmbiguousMembers(t *testing.T) {
	t.Parallel()
	const rest = `"created":"2022-01-03T19:49:55Z"`
	tests := []struct{ body, reason string }{
		{`{"id":"a","id":"b","topic":"t",` + rest + `}`, `duplicate key "id"`},
		{`{"ID":"a","topic":"t",` + rest + `}`, `key "ID" is a case variant of "id"`},
		{`{"id":"a","Id":"b","topic":"t",` + rest + `}`, `key "Id" is a case variant of "id"`},
		{`{"id":"a","topic":"t","Topic":"u",` + rest + `}`, `key "Topic" is a case variant of "topic"`},
		{`{"id":"a","topic":"t","topic":"t",` + rest + `}`, `duplicate key "topic"`},
		{`{"id":"a","\u0069d":"b","topic":"t",` + rest + `}`, `duplicate key "id"`},
		{`{"id":"a","topic":"t",` + rest + `,"created":"2023-01-01T00:00:00Z"}`, `duplicate key "created"`},
		{`{"id":"a","topic":"t",` + rest + `,"Created":"2023-01-01T00:00:00Z"}`, `case variant of "created"`},
		{`{"id":"a","topic":"t","timestamp":"2022-01-01T00:00:00Z","timestamp":"2023-01-01T00:00:00Z"}`, `duplicate key "timestamp"`},
		{`{"id":"a","topic":"t",` + rest + `,"TIMESTAMP":"2023-01-01T00:00:00Z"}`, `case variant of "timestamp"`},
		{`{"id":"a","topic":"t",` + rest + `,"resourceId":"r","resourceid":"s"}`, `key "resourceid" is a case variant of "resourceId"`},
		{`{"id":"a","topic":"t",` + rest + `,"reſourceId":"s"}`, `case variant of "resourceId"`},
		{`{"id":"a","topic":"t",` + rest + `,"correlationId":"c","correlationId":"d"}`, `duplicate key "correlationId"`},
		{`{"id":"a","topic":"t",` + rest + `,"_links":{},"_Links":{}}`, `case variant of "_links"`},
		{`{"id":"a","topic":"t",` + rest + `,"_links":{},"_links":{}}`, `duplicate key "_links"`},
		{`{"id":"a","topic":"t",` + rest + `,"_links":{"resource":{"href":"https://x/transfers/a"},"resource":{"href":"https://x/transfers/b"}}}`, `duplicate key "resource" in _links`},
		{`{"id":"a","topic":"t",` + rest + `,"_links":{"Customer":{"href":"https://x/customers/a"}}}`, `key "Customer" in _links is a case variant of "customer"`},
		{`{"id":"a","topic":"t",` + rest + `,"_links":{"account":{"href":"https://x/accounts/a"},"account":null}}`, `duplicate key "account" in _links`},
		{`{"id":"a","topic":"t",` + rest + `,"_links":{"resource":{"href":"https://x/transfers/a","href":"https://x/transfers/b"}}}`, `duplicate key "href" in a link`},
		{`{"id":"a","topic":"t",` + rest + `,"_links":{"customer":{"Href":"https://x/customers/a"}}}`, `key "Href" in a link is a case variant of "href"`},
		{`{"id":"a","topic":"t",` + rest + `,"_links":{"resource":{"href":"https://x/a/b","resource-type":"a","resource-type":"b"}}}`, `duplicate key "resource-type" in a link`},
	}
	for _, tt := range tests {
		t.Run(tt.body, func(t *testing.T) {
			t.Parallel()
			_, err := dwolla.ParseEventAt([]byte(tt.body), received)
			require.Error(t, err)
			require.True(t, dwolla.IsParseError(err))
			require.Contains(t, err.Error(), tt.reason)
			_, err = dwolla.ParseEventStdlib([]byte(tt.body), received)
			require.NoError(t, err, "encoding/json accepted this body")
		})
	}
	// Not refused: repeats among members hooklens does not read.
	for _, body := range []string{
		`{"id":"a","topic":"t",` + rest + `,"x":1,"x":2,"X":3}`,
		`{"id":"a","topic":"t",` + rest + `,"_links":{"self":{"href":"1"},"self":{"href":"2"},"Self":{}}}`,
		`{"id":"a","topic":"t",` + rest + `,"_links":{"resource":{"href":"https://x/a/b","type":"1","type":"2","Type":"3"}}}`,
		`{"id":"a","topic":"t",` + rest + `,"_embedded":{"id":"x","ID":"y","topic":1}}`,
	} {
		_, err := dwolla.ParseEventAt([]byte(body), received)
		require.NoError(t, err, body)
	}
	// A body that is not JSON is named so, whatever its keys.
	_, err := dwolla.ParseEventAt([]byte(`{"id":"a","id":"b"`), received)
	require.ErrorContains(t, err, "invalid JSON")
}

// TestParseEventStrictWhitespace: only JSON's own white space may surround
// the object. The old parser trimmed any Unicode space first.
func TestParseEventStrictWhitespace(t *testing.T) {
	t.Parallel()
	const obj = `{"id":"a","topic":"t","created":"2022-01-03T19:49:55Z"}`
	for _, body := range []string{"\v" + obj, obj + "\f", "\u00a0" + obj, obj + "\u2003"} {
		_, err := dwolla.ParseEventStdlib([]byte(body), received)
		require.NoError(t, err)
		_, err = dwolla.ParseEventAt([]byte(body), received)
		require.Error(t, err, "%q", body)
		require.True(t, dwolla.IsParseError(err))
	}
	_, err := dwolla.ParseEventAt([]byte(" \t\r\n"+obj+"\n"), received)
	require.NoError(t, err)
}

// TestParseEventFlagsImplausibleCreated: absurd created times are kept
// (the body is signed) but flagged, with the reason, relative to receipt.
func TestParseEventFlagsImplausibleCreated(t *testing.T) {
	t.Parallel()
	tests := []struct {
		created string
		field   string
		reason  string // "" = plausible
	}{
		{"0001-01-01T00:00:00Z", "created", "created more than 31 days before receipt"},
		{"9999-12-31T23:59:59Z", "created", "created more than 5m0s after receipt"},
		{"9999-12-31T23:59:59Z", "timestamp", "created more than 5m0s after receipt"},
		{"1970-01-01T00:00:00Z", "timestamp", "created more than 31 days before receipt"},
		{"2021-12-10T11:59:59Z", "created", "created more than 31 days before receipt"},
		{"2021-12-10T12:00:00Z", "created", ""}, // exactly 31 days: a late retry or a sync
		{"2022-01-07T12:00:00Z", "created", ""}, // Dwolla's last retry, 72 hours on
		{"2022-01-10T12:05:00Z", "created", ""}, // clock skew
		{"2022-01-10T12:05:00.001Z", "created", "created more than 5m0s after receipt"},
		{"2022-01-10T13:05:00+01:00", "created", ""},
	}
	for _, tt := range tests {
		body := fmt.Sprintf(`{"id":"a","topic":"transfer_created",%q:%q}`, tt.field, tt.created)
		ev, err := dwolla.ParseEventAt([]byte(body), received)
		require.NoError(t, err, body)
		want, _ := time.Parse(time.RFC3339Nano, tt.created)
		require.True(t, want.Equal(ev.Created), "the time is kept as sent: %s", body)
		require.Equal(t, tt.reason != "", ev.CreatedImplausible, body)
		require.Equal(t, tt.reason, ev.CreatedImplausibleReason, body)
		require.Equal(t, tt.reason, dwolla.CheckCreated(ev.Created, received))
	}
	// ParseEvent measures against the present.
	ev, err := dwolla.ParseEvent([]byte(`{"id":"a","topic":"t","created":"` + time.Now().UTC().Format(time.RFC3339Nano) + `"}`))
	require.NoError(t, err)
	require.False(t, ev.CreatedImplausible)
	ev, err = dwolla.ParseEvent([]byte(`{"id":"a","topic":"t","created":"0001-01-01T00:00:00Z"}`))
	require.NoError(t, err)
	require.True(t, ev.CreatedImplausible)
}

// BenchmarkParseEventVsStdlib compares the one-pass scanner with the
// encoding/json parser it replaced, on the captures (indented, as
// recorded) and on the simulator's compact bodies (as Dwolla sends them).
func BenchmarkParseEventVsStdlib(b *testing.B) {
	sets := map[string][][]byte{"captures": loadCapturePayloads(b), "simulated": simulatedBodies(b, 50)}
	parsers := []struct {
		name  string
		parse func([]byte, time.Time) (*dwolla.Event, error)
	}{
		{"scanner", dwolla.ParseEventAt},
		{"encoding-json", dwolla.ParseEventStdlib},
	}
	for _, set := range []string{"captures", "simulated"} {
		bodies := sets[set]
		for _, p := range parsers {
			b.Run(set+"/"+p.name, func(b *testing.B) {
				b.ReportAllocs()
				i := 0
				for b.Loop() {
					if _, err := p.parse(bodies[i%len(bodies)], received); err != nil {
						b.Fatal(err)
					}
					i++
				}
			})
		}
	}
}
