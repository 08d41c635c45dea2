package app_test

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/apptest"
	"github.com/hooklens/hooklens/internal/dbtest"
	"github.com/hooklens/hooklens/internal/dwolla"
)

type journeyNode struct {
	ID             string  `json:"id"`
	DefinitionKey  string  `json:"definitionKey"`
	CorrelationKey string  `json:"correlationKey"`
	Status         string  `json:"status"`
	Progress       float64 `json:"progress"`
	CurrentStep    string  `json:"currentStep"`
	Note           string  `json:"note"`
	Steps          []struct {
		Key     string `json:"key"`
		Reached bool   `json:"reached"`
		Missed  bool   `json:"missed"`
	} `json:"steps"`
}

func journeys(t *testing.T, s *apptest.Server, where map[string]any) []journeyNode {
	t.Helper()
	var res struct {
		Journeys struct {
			Edges []struct {
				Node journeyNode `json:"node"`
			} `json:"edges"`
		} `json:"journeys"`
	}
	s.MustGraphQL(`query($where: JourneyInstanceWhereInput) { journeys(where: $where, first: 500) {
		edges { node { id definitionKey correlationKey status progress currentStep note steps { key reached missed } } } } }`,
		map[string]any{"where": where}, &res)
	out := make([]journeyNode, len(res.Journeys.Edges))
	for i, e := range res.Journeys.Edges {
		out[i] = e.Node
	}
	return out
}

func allProcessed(t *testing.T, s *apptest.Server) {
	t.Helper()
	require.Eventually(t, func() bool {
		var n int
		require.NoError(t, s.App.DB.Read.QueryRow("SELECT COUNT(*) FROM event_queue WHERE state <> 'processed'").Scan(&n))
		return n == 0
	}, 15*time.Second, 20*time.Millisecond)
}

// The real sandbox captures, shuffled and duplicated, end in the journeys
// they imply: every transfer and bank leg completed.
func TestCaptureJourneys(t *testing.T) {
	t.Parallel()
	caps, err := dwolla.LoadCaptures("../dwolla/testdata/captures")
	require.NoError(t, err)
	want := map[string]string{} // "definition/resource" → status
	var bodies [][]byte
	rng := rand.New(rand.NewPCG(3, 4))
	for _, c := range caps {
		ev, err := dwolla.ParseEvent(c.Payload)
		require.NoError(t, err)
		def := "transfer"
		if strings.Contains(ev.Topic, "bank_transfer") {
			def = "bank_transfer"
		}
		want[def+"/"+ev.ResourceID] = "completed"
		for n := 1 + rng.IntN(2); n > 0; n-- {
			bodies = append(bodies, c.Payload)
		}
	}
	rng.Shuffle(len(bodies), func(i, j int) { bodies[i], bodies[j] = bodies[j], bodies[i] })
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, kind, apptest.Options{})
			deliverAll(t, s, bodies, 10)
			allProcessed(t, s)
			got := map[string]string{}
			for _, j := range journeys(t, s, nil) {
				got[j.DefinitionKey+"/"+j.CorrelationKey] = j.Status
				require.Equal(t, 100.0, j.Progress, "%s/%s", j.DefinitionKey, j.CorrelationKey)
			}
			require.Equal(t, want, got)
		})
	}
}

type scripted struct {
	topic, resourcePath string
	at                  time.Duration // after the first event
}

func scriptBodies(customer string, start time.Time, steps []scripted) [][]byte {
	var out [][]byte
	for i, st := range steps {
		parts := strings.Split(st.resourcePath, "/")
		id := parts[len(parts)-1]
		body := fmt.Sprintf(`{"id":"%s-%02d","resourceId":%q,"topic":%q,"timestamp":%q,"created":%q,"_links":{`+
			`"self":{"href":"https://api-sandbox.dwolla.com/events/%s-%02d"},`+
			`"account":{"href":"https://api-sandbox.dwolla.com/accounts/ad5f2162-404a-4c4c-994e-6ab6c3a13254"},`+
			`"resource":{"href":"https://api-sandbox.dwolla.com/%s"},`+
			`"customer":{"href":"https://api-sandbox.dwolla.com/customers/%s"}}}`,
			customer, i, id, st.topic, start.Add(st.at).Format("2006-01-02T15:04:05.000Z"), start.Add(st.at).Format("2006-01-02T15:04:05.000Z"),
			customer, i, st.resourcePath, customer)
		out = append(out, []byte(body))
	}
	return out
}

// A customer's verification through retry, KBA failure and a rejected then
// approved document, and a bank verified with micro-deposits, delivered
// backwards with duplicates.
func TestVerificationJourneysOutOfOrder(t *testing.T) {
	t.Parallel()
	for _, kind := range dbtest.Kinds {
		t.Run(kind, func(t *testing.T) {
			t.Parallel()
			s := apptest.Start(t, kind, apptest.Options{})
			cust := "c0ffee00-0000-4000-8000-000000000001"
			bank := "funding-sources/fa000000-0000-4000-8000-000000000001"
			start := time.Now().UTC().Add(-3 * time.Hour).Truncate(time.Millisecond)
			steps := []scripted{
				{"customer_created", "customers/" + cust, 0},
				{"customer_reverification_needed", "customers/" + cust, time.Minute},
				{"customer_kba_verification_needed", "customers/" + cust, 10 * time.Minute},
				{"customer_kba_verification_failed", "customers/" + cust, 12 * time.Minute},
				{"customer_verification_document_needed", "customers/" + cust, 13 * time.Minute},
				{"customer_verification_document_uploaded", "documents/d0c00000-0000-4000-8000-000000000001", 20 * time.Minute},
				{"customer_verification_document_failed", "documents/d0c00000-0000-4000-8000-000000000001", 40 * time.Minute},
				{"customer_verification_document_uploaded", "documents/d0c00000-0000-4000-8000-000000000002", 50 * time.Minute},
				{"customer_verification_document_approved", "documents/d0c00000-0000-4000-8000-000000000002", 70 * time.Minute},
				{"customer_verified", "customers/" + cust, 71 * time.Minute},
				{"customer_funding_source_added", bank, 80 * time.Minute},
				{"customer_microdeposits_added", bank, 81 * time.Minute},
				{"customer_microdeposits_completed", bank, 120 * time.Minute},
				{"customer_funding_source_verified", bank, 130 * time.Minute},
			}
			bodies := scriptBodies(cust, start, steps)
			var backwards [][]byte
			for i := len(bodies) - 1; i >= 0; i-- {
				backwards = append(backwards, bodies[i])
				if i%3 == 0 {
					backwards = append(backwards, bodies[i])
				}
			}
			for _, b := range backwards {
				resp := s.Deliver(b)
				require.Equal(t, http.StatusOK, resp.StatusCode)
				resp.Body.Close()
			}
			allProcessed(t, s)
			byDef := map[string]journeyNode{}
			for _, j := range journeys(t, s, nil) {
				byDef[j.DefinitionKey] = j
			}
			pv, ok := byDef["personal_verification"]
			require.True(t, ok, "journeys: %+v", byDef)
			require.Equal(t, "completed", pv.Status)
			require.Equal(t, 100.0, pv.Progress)
			require.Equal(t, cust, pv.CorrelationKey)
			reached := map[string]bool{}
			for _, st := range pv.Steps {
				reached[st.Key] = st.Reached
			}
			require.True(t, reached["retry"] && reached["kba_needed"] && reached["document_uploaded"] && reached["verified"], "%+v", pv.Steps)
			require.NotContains(t, byDef, "business_verification", "a personal customer is not a business one")

			md, ok := byDef["bank_microdeposit_verification"]
			require.True(t, ok, "journeys: %+v", byDef)
			require.Equal(t, "completed", md.Status)

			// The event drawer's view: an event knows its journeys.
			var ev struct {
				Event struct {
					Journeys []struct{ DefinitionKey string } `json:"journeys"`
				} `json:"event"`
			}
			s.MustGraphQL(fmt.Sprintf(`{ event(eventID: "%s-09") { journeys { definitionKey } } }`, cust), nil, &ev)
			require.Len(t, ev.Event.Journeys, 1)
			require.Equal(t, "personal_verification", ev.Event.Journeys[0].DefinitionKey)

			// And the funnel agrees.
			var stats struct {
				JourneyStats struct {
					Instances   int      `json:"instances"`
					SuccessRate *float64 `json:"successRate"`
					Steps       []struct {
						Key     string `json:"key"`
						Reached int    `json:"reached"`
					} `json:"steps"`
				} `json:"journeyStats"`
			}
			s.MustGraphQL(`{ journeyStats(definition: "personal_verification") { instances successRate steps { key reached } } }`, nil, &stats)
			require.Equal(t, 1, stats.JourneyStats.Instances)
			require.NotNil(t, stats.JourneyStats.SuccessRate)
			require.Equal(t, 1.0, *stats.JourneyStats.SuccessRate)
		})
	}
}

// A transfer that stalls is marked stuck by the sweep (with a controlled
// clock), pushed to subscribers, and later abandoned.
func TestStuckAndAbandonedSweeps(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	ws, ack, err := s.DialWS("graphql-transport-ws", nil, map[string]any{"token": s.Viewer})
	require.NoError(t, err)
	require.Equal(t, "connection_ack", ack.Type)
	ws.SubscribeWait("stuck", `subscription { journeyStuck(definition: "transfer") { correlationKey status } }`, nil)

	created := time.Now().UTC().Add(-2 * 24 * time.Hour)
	body := fmt.Sprintf(`{"id":"stall-1","resourceId":"7a000000-0000-4000-8000-000000000001","topic":"customer_transfer_created",`+
		`"created":%q,"_links":{"resource":{"href":"https://api-sandbox.dwolla.com/transfers/7a000000-0000-4000-8000-000000000001"},`+
		`"customer":{"href":"https://api-sandbox.dwolla.com/customers/c1"}}}`, created.Format(time.RFC3339Nano))
	resp := s.Deliver([]byte(body))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp.Body.Close()
	allProcessed(t, s)
	js := journeys(t, s, map[string]any{"definitionKey": "transfer"})
	require.Len(t, js, 1)
	require.Equal(t, "active", js[0].Status)

	ctx := context.Background()
	n, err := s.App.Tracker.SweepStuck(ctx, time.Now().Add(10*24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, 1, n)
	var got struct {
		JourneyStuck struct {
			CorrelationKey string `json:"correlationKey"`
			Status         string `json:"status"`
		} `json:"journeyStuck"`
	}
	ws.NextData(5*time.Second, &got)
	require.Equal(t, "7a000000-0000-4000-8000-000000000001", got.JourneyStuck.CorrelationKey)
	require.Equal(t, "stuck", got.JourneyStuck.Status)
	require.Len(t, journeys(t, s, map[string]any{"status": "stuck"}), 1)

	// Nothing else is due yet: a second stuck sweep finds nothing.
	n, err = s.App.Tracker.SweepStuck(ctx, time.Now().Add(10*24*time.Hour))
	require.NoError(t, err)
	require.Zero(t, n)

	_, err = s.App.Tracker.SweepAbandoned(ctx, time.Now().Add(90*24*time.Hour))
	require.NoError(t, err)
	require.Equal(t, "abandoned", journeys(t, s, map[string]any{"definitionKey": "transfer"})[0].Status)

	// A late completion brings it back and completes it.
	done := strings.Replace(strings.Replace(body, "stall-1", "stall-2", 1), "customer_transfer_created", "customer_transfer_completed", 1)
	resp = s.Deliver([]byte(done))
	require.Equal(t, http.StatusOK, resp.StatusCode)
	resp.Body.Close()
	allProcessed(t, s)
	require.Equal(t, "completed", journeys(t, s, map[string]any{"definitionKey": "transfer"})[0].Status)
}

func TestJourneyDefinitions(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	var defs struct {
		JourneyDefinitions []struct {
			Key     string `json:"key"`
			Builtin bool   `json:"builtin"`
			Steps   []struct {
				Key    string   `json:"key"`
				Topics []string `json:"topics"`
			} `json:"steps"`
		} `json:"journeyDefinitions"`
	}
	s.MustGraphQL(`{ journeyDefinitions { key builtin steps { key topics } } }`, nil, &defs)
	keys := map[string]bool{}
	for _, d := range defs.JourneyDefinitions {
		keys[d.Key] = true
		require.True(t, d.Builtin)
		require.NotEmpty(t, d.Steps)
	}
	for _, k := range []string{"personal_verification", "business_verification", "bank_microdeposit_verification", "transfer", "bank_transfer", "mass_payment"} {
		require.True(t, keys[k], "built-in %s is seeded", k)
	}

	input := map[string]any{
		"key": "label_lifecycle", "name": "Label lifecycle", "abandonAfter": "30d",
		"correlation":   map[string]any{"by": "resource", "resourceTypes": []string{"label"}},
		"start":         map[string]any{"topics": []string{"customer_label_created"}},
		"successTopics": []string{"customer_label_removed"},
		"steps": []map[string]any{
			{"key": "created", "name": "Created", "topics": []string{"customer_label_created"}},
			{"key": "removed", "name": "Removed", "topics": []string{"customer_label_removed", "customer_label_teleported"}, "within": "90d"},
		},
	}
	var v struct {
		ValidateJourneyDefinition struct {
			Valid    bool     `json:"valid"`
			Errors   []string `json:"errors"`
			Warnings []string `json:"warnings"`
		} `json:"validateJourneyDefinition"`
	}
	const validate = `query($in: JourneyDefinitionInput!) { validateJourneyDefinition(input: $in) { valid errors warnings } }`
	s.MustGraphQL(validate, map[string]any{"in": input}, &v)
	require.True(t, v.ValidateJourneyDefinition.Valid, "%v", v.ValidateJourneyDefinition.Errors)
	require.NotEmpty(t, v.ValidateJourneyDefinition.Warnings, "an unknown topic is a warning")
	require.Contains(t, strings.Join(v.ValidateJourneyDefinition.Warnings, " "), "customer_label_teleported")

	bad := map[string]any{}
	raw, _ := json.Marshal(input)
	require.NoError(t, json.Unmarshal(raw, &bad))
	bad["steps"] = []map[string]any{}
	s.MustGraphQL(validate, map[string]any{"in": bad}, &v)
	require.False(t, v.ValidateJourneyDefinition.Valid)
	require.NotEmpty(t, v.ValidateJourneyDefinition.Errors)

	const create = `mutation($in: JourneyDefinitionInput!) { createJourneyDefinition(input: $in) { definition { key version builtin } warnings } }`
	r := s.GraphQL(s.Viewer, create, map[string]any{"in": input})
	require.Equal(t, http.StatusForbidden, r.Status)
	r = s.GraphQL(s.Admin, create, map[string]any{"in": bad})
	require.Equal(t, "BAD_USER_INPUT", r.Errors[0].Extensions["code"])
	var created struct {
		CreateJourneyDefinition struct {
			Definition struct {
				Version int `json:"version"`
			} `json:"definition"`
		} `json:"createJourneyDefinition"`
	}
	s.MustGraphQL(create, map[string]any{"in": input}, &created)
	require.Equal(t, 1, created.CreateJourneyDefinition.Definition.Version)

	// It routes new events at once.
	lbl := `{"id":"lbl-1","resourceId":"1ab00000-0000-4000-8000-000000000001","topic":"customer_label_created","created":"2026-01-01T00:00:00.000Z",` +
		`"_links":{"resource":{"href":"https://api-sandbox.dwolla.com/labels/1ab00000-0000-4000-8000-000000000001"},"customer":{"href":"https://api-sandbox.dwolla.com/customers/c2"}}}`
	resp := s.Deliver([]byte(lbl))
	resp.Body.Close()
	allProcessed(t, s)
	require.Len(t, journeys(t, s, map[string]any{"definitionKey": "label_lifecycle"}), 1)

	// Update raises the version; a re-evaluation job applies it.
	input["name"] = "Labels"
	var updated struct {
		UpdateJourneyDefinition struct {
			Definition struct {
				Version int `json:"version"`
			} `json:"definition"`
		} `json:"updateJourneyDefinition"`
	}
	s.MustGraphQL(`mutation($in: JourneyDefinitionInput!) { updateJourneyDefinition(input: $in) { definition { version } } }`,
		map[string]any{"in": input}, &updated)
	require.Equal(t, 2, updated.UpdateJourneyDefinition.Definition.Version)
	var job struct {
		ReevaluateJourneys struct{ ID string } `json:"reevaluateJourneys"`
	}
	s.MustGraphQL(`mutation { reevaluateJourneys(definition: "label_lifecycle") { id } }`, nil, &job)
	require.Eventually(t, func() bool {
		var st struct {
			Node struct{ Status string } `json:"node"`
		}
		s.MustGraphQL(`query($id: ID!) { node(id: $id) { ... on Job { status } } }`, map[string]any{"id": job.ReevaluateJourneys.ID}, &st)
		return st.Node.Status == "succeeded"
	}, 10*time.Second, 50*time.Millisecond)
	var ver struct {
		Journeys struct {
			Edges []struct {
				Node struct{ DefinitionVersion int } `json:"node"`
			} `json:"edges"`
		} `json:"journeys"`
	}
	s.MustGraphQL(`{ journeys(where: {definitionKey: "label_lifecycle"}) { edges { node { definitionVersion } } } }`, nil, &ver)
	require.Equal(t, 2, ver.Journeys.Edges[0].Node.DefinitionVersion)

	// Disabling stops routing.
	s.MustGraphQL(`mutation { setJourneyDefinitionEnabled(key: "label_lifecycle", enabled: false) { enabled } }`, nil, nil)
	resp = s.Deliver([]byte(strings.ReplaceAll(lbl, "1ab00000-0000-4000-8000-000000000001", "1ab00000-0000-4000-8000-000000000002")))
	resp.Body.Close()
	allProcessed(t, s)
	require.Len(t, journeys(t, s, map[string]any{"definitionKey": "label_lifecycle"}), 1)
}

// Two instances on one PostgreSQL database share the pipeline work, and a
// subscriber on one sees what the other received and processed.
func TestTwoInstancesShareWorkAndLiveUpdates(t *testing.T) {
	t.Parallel()
	dbURL := dbtest.NewPostgres(t)
	a := apptest.Start(t, "postgres", apptest.Options{DatabaseURL: dbURL})
	b := apptest.Start(t, "postgres", apptest.Options{DatabaseURL: dbURL})

	ws, ack, err := b.DialWS("graphql-transport-ws", nil, map[string]any{"token": b.Viewer})
	require.NoError(t, err)
	require.Equal(t, "connection_ack", ack.Type)
	ws.SubscribeWait("r", `subscription { eventReceived { eventID } }`, nil)
	code, _ := receive(t, a, eventBody("cross-instance-1", "customer_created"))
	require.Equal(t, http.StatusOK, code)
	var got struct {
		EventReceived struct{ EventID string } `json:"eventReceived"`
	}
	ws.NextData(5*time.Second, &got)
	require.Equal(t, "cross-instance-1", got.EventReceived.EventID)

	var bodies [][]byte
	for i := 0; i < 600; i++ {
		bodies = append(bodies, eventBody(fmt.Sprintf("shared-%03d", i), "customer_transfer_created"))
	}
	half := len(bodies) / 2
	done := make(chan struct{})
	go func() { deliverAll(t, b, bodies[half:], 10); close(done) }()
	deliverAll(t, a, bodies[:half], 10)
	<-done
	allProcessed(t, a)
	// A worker counts its batch just after the commit that marks it
	// processed, so the counters may trail the database for a moment; once
	// they reach 601 they must stay there (no event processed twice).
	var pa, pb float64
	require.Eventually(t, func() bool {
		pa, pb = testutil.ToFloat64(a.App.Metrics.Processed), testutil.ToFloat64(b.App.Metrics.Processed)
		return pa+pb >= 601
	}, 5*time.Second, 10*time.Millisecond, "every event processed across the two instances")
	require.Never(t, func() bool {
		return testutil.ToFloat64(a.App.Metrics.Processed)+testutil.ToFloat64(b.App.Metrics.Processed) != 601
	}, 200*time.Millisecond, 10*time.Millisecond, "every event processed exactly once across the two instances")
	require.Positive(t, pa)
	require.Positive(t, pb)
	var leaders int
	for _, s := range []*apptest.Server{a, b} {
		if s.App.Schedule.Leader() {
			leaders++
		}
	}
	require.LessOrEqual(t, leaders, 1, "at most one scheduler leader")
}
