// Command evalanomaly measures hooklens's anomaly detectors on synthetic
// traffic: weeks of seasonal per-minute webhook traffic with anomalies of
// every type planted at random times, replayed minute by minute through the
// detectors and the lifecycle exactly as production runs them. It prints
// precision, recall and detection delay per type and false alarms per day,
// and exits non-zero when a target is missed.
//
//	go run ./cmd/evalanomaly                 # the held-out seeds
//	go run ./cmd/evalanomaly -seeds 1,2,3 -v # other seeds, with misses and false alarms
package main

import (
	"flag"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"
	_ "time/tzdata" // the scenario's New York calendar must not depend on the host

	"github.com/hooklens/hooklens/internal/anomaly"
	"github.com/hooklens/hooklens/internal/anomaly/evaluation"
)

// heldOut are the seeds the README and docs report. The detectors were tuned
// on seeds 1–5 only; these were run once the parameters were frozen.
const heldOut = "101,102,103,104,105"

func main() {
	seedsFlag := flag.String("seeds", heldOut, "comma-separated scenario seeds")
	days := flag.Int("days", 0, "simulated days (default 42)")
	warmup := flag.Int("warmup", 0, "days of history before scoring (default 21)")
	verbose := flag.Bool("v", false, "list every miss and false alarm")
	flag.Parse()
	if err := run(*seedsFlag, *days, *warmup, *verbose); err != nil {
		fmt.Fprintln(os.Stderr, "evalanomaly:", err)
		os.Exit(1)
	}
}

func run(seedsFlag string, days, warmup int, verbose bool) error {
	var seeds []uint64
	for _, s := range strings.Split(seedsFlag, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return fmt.Errorf("seed %q: %w", s, err)
		}
		seeds = append(seeds, v)
	}
	det, err := anomaly.New(anomaly.DefaultConfig())
	if err != nil {
		return err
	}
	lc := anomaly.NewLifecycle(anomaly.DefaultLifecycleConfig())

	started := time.Now()
	results := make([]*evaluation.Result, len(seeds))
	errs := make([]error, len(seeds))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, seed := range seeds {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			o := evaluation.DefaultOptions(seed)
			if days > 0 {
				o.Days = days
			}
			if warmup > 0 {
				o.WarmupDays = warmup
			}
			sc, err := evaluation.Generate(o)
			if err != nil {
				errs[i] = err
				return
			}
			results[i] = evaluation.Replay(sc, det, lc)
		})
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}

	total := &evaluation.Result{}
	for i, r := range results {
		fmt.Printf("## seed %d\n\n", seeds[i])
		r.WriteTable(os.Stdout)
		if verbose {
			fmt.Println()
			r.WriteDetails(os.Stdout)
		}
		fmt.Println()
		if i == 0 {
			*total = *r
			total.Types = cloneTypes(r.Types)
			continue
		}
		total.Merge(r)
	}
	if len(results) > 1 {
		fmt.Println("## all seeds")
		fmt.Println()
		total.WriteTable(os.Stdout)
		fmt.Println()
	}
	fmt.Printf("finished in %s\n", time.Since(started).Round(100*time.Millisecond))
	ok := true
	for i, r := range results {
		if pass, why := r.Pass(); !pass {
			ok = false
			fmt.Printf("seed %d misses the targets: %s\n", seeds[i], strings.Join(why, "; "))
		}
	}
	if !ok {
		return fmt.Errorf("targets missed")
	}
	fmt.Println("targets met for every seed")
	return nil
}

func cloneTypes(in []*evaluation.TypeStats) []*evaluation.TypeStats {
	out := make([]*evaluation.TypeStats, len(in))
	for i, s := range in {
		c := *s
		c.Delays = append([]float64(nil), s.Delays...)
		out[i] = &c
	}
	return out
}
