package app_test

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/apptest"
)

// TestImpossibleCreatedStaysOutOfJourneyTimes: a signed event claiming
// 0001-01-01 is kept, but its journey starts at its receipt, not two
// thousand years ago (issue 20 item 12).
func TestImpossibleCreatedStaysOutOfJourneyTimes(t *testing.T) {
	t.Parallel()
	s := apptest.Start(t, "sqlite", apptest.Options{})
	transfer := "aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee"
	body := func(id, topic, created string) []byte {
		return fmt.Appendf(nil, `{"id":%q,"topic":%q,"created":%q,"resourceId":%q,"_links":{"resource":{"href":"https://api-sandbox.dwolla.com/transfers/%s"}}}`,
			id, topic, created, transfer, transfer)
	}
	code, _ := receive(t, s, body("abs-1", "transfer_created", "0001-01-01T00:00:00.000Z"))
	require.Equal(t, http.StatusOK, code)
	code, _ = receive(t, s, body("abs-2", "transfer_completed", time.Now().UTC().Format(time.RFC3339Nano)))
	require.Equal(t, http.StatusOK, code)
	waitProcessed(t, s, 2)
	var res struct {
		Journeys struct {
			Edges []struct {
				Node struct {
					DefinitionKey string    `json:"definitionKey"`
					StartedAt     time.Time `json:"startedAt"`
				} `json:"node"`
			} `json:"edges"`
		} `json:"journeys"`
	}
	s.MustGraphQL(`query($where: JourneyInstanceWhereInput) { journeys(where: $where, first: 10) { edges { node { definitionKey startedAt } } } }`,
		map[string]any{"where": map[string]any{"correlationKey": transfer}}, &res)
	require.NotEmpty(t, res.Journeys.Edges)
	for _, e := range res.Journeys.Edges {
		require.Greater(t, e.Node.StartedAt.Year(), 2020, "the journey starts at the event's receipt: %+v", e.Node)
	}
}
