package bench_test

import (
	"bytes"
	"context"
	"os"
	"runtime/pprof"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/hooklens/hooklens/internal/apptest"
	"github.com/hooklens/hooklens/internal/bench"
)

// TestProfile profiles a whole in-process server (and, unavoidably, the
// generator beside it) under open-loop load, for finding what limits
// ingest and the pipeline. It runs only when asked:
//
//	HOOKLENS_PROFILE=sqlite HOOKLENS_PROFILE_RATE=2000 HOOKLENS_PROFILE_OUT=/tmp/cpu.prof \
//	  go test -run TestProfile -v ./internal/bench
//	go tool pprof -top /tmp/cpu.prof
func TestProfile(t *testing.T) {
	kind := os.Getenv("HOOKLENS_PROFILE")
	if kind == "" {
		t.Skip("set HOOKLENS_PROFILE=sqlite|postgres to profile a server under load")
	}
	rate, err := strconv.ParseFloat(os.Getenv("HOOKLENS_PROFILE_RATE"), 64)
	if err != nil || rate <= 0 {
		rate = 1000
	}
	out := os.Getenv("HOOKLENS_PROFILE_OUT")
	if out == "" {
		out = "cpu.prof"
	}
	srv := apptest.Start(t, kind, apptest.Options{})
	f, err := os.Create(out)
	require.NoError(t, err)
	defer f.Close()
	require.NoError(t, pprof.StartCPUProfile(f))
	var progress bytes.Buffer
	rep, err := bench.Run(context.Background(), bench.Config{
		Name: "profile-" + kind, Target: srv.URL, Secret: apptest.Secret,
		DatabaseURL: srv.App.DB.URL, FreshDatabase: true,
		Traffic: bench.Traffic{Rate: rate, Duration: 10 * time.Second, DuplicateShare: 0.02},
		Seed:    5, Progress: &progress,
	})
	pprof.StopCPUProfile()
	require.NoError(t, err)
	var table bytes.Buffer
	require.NoError(t, bench.WriteText(&table, rep))
	t.Log(progress.String())
	t.Log(table.String())
}
