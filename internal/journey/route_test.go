package journey

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestRoute(t *testing.T) {
	t.Parallel()
	router, err := NewRouter(Builtins())
	require.NoError(t, err)
	const cust, res = "cust-1", "res-1"
	ev := func(topic, resourceType string) Event {
		return Event{ID: "e1", Topic: topic, Created: t0, ResourceID: res, ResourceType: resourceType, CustomerID: cust}
	}
	tests := []struct {
		name string
		ev   Event
		want []Assignment
	}{
		{
			name: "customer_created only joins: receive-only customers never verify",
			ev:   ev("customer_created", "customer"),
			want: []Assignment{
				{Definition: "personal_verification", Version: 1, Key: cust},
				{Definition: "business_verification", Version: 1, Key: cust},
			},
		},
		{
			name: "customer_verified opens the personal journey and joins the business one",
			ev:   ev("customer_verified", "customer"),
			want: []Assignment{
				{Definition: "personal_verification", Version: 1, Key: cust, Opens: true},
				{Definition: "business_verification", Version: 1, Key: cust},
			},
		},
		{
			name: "an owner's creation: excludes personal, opens business and the owner's journey",
			ev:   ev("customer_beneficial_owner_created", "beneficial-owner"),
			want: []Assignment{
				{Definition: "personal_verification", Version: 1, Key: cust},
				{Definition: "business_verification", Version: 1, Key: cust, Opens: true},
				{Definition: "beneficial_owner_verification", Version: 1, Key: res, Opens: true},
			},
		},
		{
			name: "an owner's document names a document, so it reaches the business, not the owner",
			ev:   ev("customer_beneficial_owner_verification_document_uploaded", "document"),
			want: []Assignment{
				{Definition: "personal_verification", Version: 1, Key: cust},
				{Definition: "business_verification", Version: 1, Key: cust, Opens: true},
			},
		},
		{
			name: "a customer's document is keyed by the customer",
			ev:   ev("customer_verification_document_failed", "document"),
			want: []Assignment{
				{Definition: "personal_verification", Version: 1, Key: cust, Opens: true},
				{Definition: "business_verification", Version: 1, Key: cust},
			},
		},
		{
			name: "a bank added only joins",
			ev:   ev("customer_funding_source_added", "funding-source"),
			want: []Assignment{
				{Definition: "bank_microdeposit_verification", Version: 1, Key: res},
				{Definition: "bank_instant_verification", Version: 1, Key: res},
			},
		},
		{
			name: "micro-deposits open their journey and exclude the instant one",
			ev:   ev("customer_microdeposits_added", "funding-source"),
			want: []Assignment{
				{Definition: "bank_microdeposit_verification", Version: 1, Key: res, Opens: true},
				{Definition: "bank_instant_verification", Version: 1, Key: res},
			},
		},
		{
			name: "verification opens the instant journey",
			ev:   ev("funding_source_verified", "funding-source"),
			want: []Assignment{
				{Definition: "bank_microdeposit_verification", Version: 1, Key: res},
				{Definition: "bank_instant_verification", Version: 1, Key: res, Opens: true},
			},
		},
		{
			name: "a transfer's completion may open: Dwolla may deliver it first",
			ev:   ev("customer_transfer_completed", "transfer"),
			want: []Assignment{{Definition: "transfer", Version: 1, Key: res, Opens: true}},
		},
		{
			name: "master-account transfer topics reach the same journey",
			ev:   Event{ID: "e1", Topic: "transfer_created", ResourceID: res, ResourceType: "transfer"},
			want: []Assignment{{Definition: "transfer", Version: 1, Key: res, Opens: true}},
		},
		{
			name: "bank legs",
			ev:   ev("bank_transfer_creation_failed", "transfer"),
			want: []Assignment{{Definition: "bank_transfer", Version: 1, Key: res, Opens: true}},
		},
		{
			name: "mass payments",
			ev:   ev("customer_mass_payment_created", "mass-payment"),
			want: []Assignment{{Definition: "mass_payment", Version: 1, Key: res, Opens: true}},
		},
		{
			name: "resource type falls back to the catalogue",
			ev:   ev("customer_transfer_created", ""),
			want: []Assignment{{Definition: "transfer", Version: 1, Key: res, Opens: true}},
		},
		{
			name: "a transfer topic on another kind of resource is not a transfer",
			ev:   ev("customer_transfer_created", "funding-source"),
		},
		{
			name: "a customer topic without a customer link",
			ev:   Event{ID: "e1", Topic: "customer_verified", ResourceID: res},
		},
		{
			name: "a resource topic without a resource id",
			ev:   Event{ID: "e1", Topic: "transfer_created", CustomerID: cust},
		},
		{name: "a topic no journey follows", ev: ev("statement_created", "statement")},
		{name: "an unknown topic", ev: ev("customer_teleported", "customer")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			require.Equal(t, tt.want, router.Route(tt.ev))
		})
	}
}

func TestRouterDefinitions(t *testing.T) {
	t.Parallel()
	defs := Builtins()
	defs[0].Enabled = false
	router, err := NewRouter(defs)
	require.NoError(t, err)
	_, ok := router.Definition("personal_verification")
	require.False(t, ok, "disabled definitions are not routed")
	got, ok := router.Definition("transfer")
	require.True(t, ok)
	require.Equal(t, builtin(t, "transfer"), got)
	require.Len(t, router.Definitions(), len(defs)-1)
	require.Equal(t, []Assignment{{Definition: "business_verification", Version: 1, Key: "c"}},
		router.Route(Event{ID: "e", Topic: "customer_verified", CustomerID: "c"}))

	// The router keeps its own copy.
	got.Steps[0].Topics[0] = "changed"
	again, _ := router.Definition("transfer")
	require.Equal(t, "customer_transfer_created", again.Steps[0].Topics[0])
}

func TestNewRouterRefusesBadDefinitions(t *testing.T) {
	t.Parallel()
	bad := validDefinition()
	bad.Steps = nil
	_, err := NewRouter([]Definition{validDefinition(), bad})
	require.ErrorContains(t, err, `journey "custom_transfer": invalid journey definition: steps: a journey needs at least one step`)

	_, err = NewRouter([]Definition{validDefinition(), validDefinition()})
	require.ErrorContains(t, err, `journey "custom_transfer": defined twice`)

	// A disabled definition is not routed, so it is not checked either.
	bad.Enabled = false
	_, err = NewRouter([]Definition{validDefinition(), bad})
	require.NoError(t, err)
}

// Not parallel: AllocsPerRun counts every allocation in the process.
func TestAppendRouteDoesNotAllocate(t *testing.T) {
	router, err := NewRouter(Builtins())
	require.NoError(t, err)
	ev := Event{ID: "e", Topic: "customer_beneficial_owner_created", ResourceID: "o", ResourceType: "beneficial-owner", CustomerID: "c"}
	buf := make([]Assignment, 0, 8)
	allocs := testing.AllocsPerRun(1000, func() { buf = router.AppendRoute(buf[:0], ev) })
	require.Zero(t, allocs)
	require.Len(t, buf, 3)
}
