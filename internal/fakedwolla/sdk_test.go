package fakedwolla_test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/fakedwolla"
)

// TestDwollaNodeSDK drives the fake with Dwolla's official Node SDK
// (dwolla-v2, a devDependency) through whole transfers, a return, a late
// return and a cancel (sdktest/sdk.mjs), then checks that the webhooks a
// subscriber got name the same transfers the API shows. Without node or
// the package it skips, except under CI=true, where it fails.
func TestDwollaNodeSDK(t *testing.T) {
	t.Parallel()
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	node, err := exec.LookPath("node")
	missing := err != nil
	if _, serr := os.Stat(filepath.Join(root, "node_modules", "dwolla-v2", "package.json")); serr != nil {
		missing = true
	}
	if missing {
		if os.Getenv("CI") == "true" {
			t.Fatalf("node or node_modules/dwolla-v2 is missing (run npm ci): %v", err)
		}
		t.Skip("node or node_modules/dwolla-v2 is missing; run npm ci")
	}
	f := newFake(t, fakedwolla.Options{ShuffleWindow: -1})
	rcv := newReceiver(t, 200, 0)
	_, err = f.Subscribe(rcv.URL, hookSecret)
	require.NoError(t, err)

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, filepath.Join(root, "internal", "fakedwolla", "sdktest", "sdk.mjs"))
	cmd.Env = append(os.Environ(), "DWOLLA_FAKE_URL="+f.URL, "DWOLLA_KEY="+key, "DWOLLA_SECRET="+secret, "HOOKLENS_ROOT="+root)
	out, err := cmd.CombinedOutput()
	t.Logf("sdk.mjs: %s", out)
	require.NoError(t, err, "the SDK run failed")

	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	var summary struct {
		Events    int
		Transfers int
		Topics    []string
	}
	require.NoError(t, json.Unmarshal([]byte(lines[len(lines)-1]), &summary))
	require.Subset(t, summary.Topics, []string{
		"customer_created", "customer_verified", "customer_reverification_needed",
		"customer_funding_source_added", "customer_funding_source_verified", "customer_microdeposits_added",
		"customer_microdeposits_completed", "customer_bank_transfer_created", "customer_bank_transfer_completed",
		"customer_bank_transfer_failed", "customer_transfer_created", "customer_transfer_completed",
		"customer_transfer_failed", "customer_transfer_cancelled", "customer_bank_transfer_cancelled",
		"customer_funding_source_removed",
	})

	// The subscriber got a webhook for every event the API lists.
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	require.NoError(t, f.WaitIdle(wctx))
	got := map[string]bool{}
	for _, d := range rcv.deliveries() {
		var ev struct{ ID string }
		require.NoError(t, json.Unmarshal(d.body, &ev))
		got[ev.ID] = true
	}
	for _, ev := range f.Events() {
		require.True(t, got[ev.ID], "no webhook for %s %s", ev.Topic, ev.ID)
	}
	require.Equal(t, len(f.Events()), summary.Events)
}
