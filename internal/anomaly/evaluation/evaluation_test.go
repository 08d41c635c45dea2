package evaluation_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/anomaly"
	"github.com/hooklens/hooklens/internal/anomaly/evaluation"
)

// smallOptions is the full evaluation's scenario cut to two scored weeks
// after three weeks of history, small enough for the race detector.
func smallOptions(seed uint64) evaluation.Options {
	o := evaluation.DefaultOptions(seed)
	o.Days, o.WarmupDays = 35, 21
	return o
}

func TestSmallEvaluationMeetsTargets(t *testing.T) {
	t.Parallel()
	sc, err := evaluation.Generate(smallOptions(1))
	require.NoError(t, err)
	det, err := anomaly.New(anomaly.DefaultConfig())
	require.NoError(t, err)
	res := evaluation.Replay(sc, det, anomaly.NewLifecycle(anomaly.DefaultLifecycleConfig()))

	var out strings.Builder
	res.WriteTable(&out)
	res.WriteDetails(&out)
	t.Log("\n" + out.String())
	for _, s := range res.Types {
		require.Positive(t, s.Plants, "every type must be planted: %s", s.Type)
	}
	pass, why := res.Pass()
	require.True(t, pass, "%v", why)
}
