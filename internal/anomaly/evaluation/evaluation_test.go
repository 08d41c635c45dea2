package evaluation_test

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/anomaly"
	"github.com/hooklens/hooklens/internal/anomaly/evaluation"
)

func TestSmallEvaluationMeetsTargets(t *testing.T) {
	t.Parallel()
	o := evaluation.DefaultOptions(7)
	o.Days, o.WarmupDays, o.PlantsPerWeek = 24, 21, 14
	start := time.Now()
	sc, err := evaluation.Generate(o)
	require.NoError(t, err)
	t.Logf("generate %s", time.Since(start))
	det, err := anomaly.New(anomaly.DefaultConfig())
	require.NoError(t, err)
	res := evaluation.Replay(sc, det, anomaly.NewLifecycle(anomaly.DefaultLifecycleConfig()))
	res.WriteTable(os.Stdout)
	res.WriteDetails(os.Stdout)
	t.Logf("total %s", time.Since(start))
}
