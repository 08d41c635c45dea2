// Command evalanomaly measures hooklens's anomaly detectors on synthetic
// traffic: weeks of seasonal per-minute webhook traffic with anomalies of
// every type planted at random times, replayed minute by minute through the
// detectors and the lifecycle exactly as production runs them. It prints
// precision, recall and detection delay per type and false alarms per day,
// and exits non-zero when a target is missed.
//
//	go run ./cmd/evalanomaly                 # the held-out seeds
//	go run ./cmd/evalanomaly -seeds 1,2,3 -v # other seeds, with misses and false alarms
//	go run ./cmd/evalanomaly -days 14 -warmup 2          # the first days after install
//	go run ./cmd/evalanomaly -seeds 3 -trace failure_rate:transfer -from 35300 -to 35500
//	                                         # every finding for one key, minute by minute
//	go run ./cmd/evalanomaly -noise 2 -min-snr 4        # twice the day-to-day noise, plants from SNR 4
//	go run ./cmd/evalanomaly -robustness     # recall and false alarms at noise ×1, ×2 and SNR 3, 4, 6
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
	trace := flag.String("trace", "", "print the findings for this key (type:subject) for the first seed instead")
	from := flag.Int("from", 0, "first minute to trace (minutes since the scenario start, as -v prints)")
	to := flag.Int("to", 0, "minute after the last one to trace")
	flag.Float64Var(&noise, "noise", 1, "multiply the traffic's day-to-day noise (1 is the calibrated level)")
	flag.Float64Var(&minSNR, "min-snr", 0, "least signal-to-noise ratio of a planted anomaly (default 6)")
	robust := flag.Bool("robustness", false, "print recall per type and false alarms per day at noise ×1 and ×2 and SNR 3, 4 and 6")
	flag.Parse()
	var err error
	if *robust {
		err = runRobustness(*seedsFlag, *days, *warmup)
	} else if *trace != "" {
		err = runTrace(*seedsFlag, *days, *warmup, *trace, *from, *to)
	} else {
		err = run(*seedsFlag, *days, *warmup, *verbose)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "evalanomaly:", err)
		os.Exit(1)
	}
}

func parseSeeds(list string) ([]uint64, error) {
	var seeds []uint64
	for _, s := range strings.Split(list, ",") {
		v, err := strconv.ParseUint(strings.TrimSpace(s), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("seed %q: %w", s, err)
		}
		seeds = append(seeds, v)
	}
	return seeds, nil
}

// noise and minSNR set the generator beyond DefaultOptions (flags).
var noise, minSNR float64

func options(seed uint64, days, warmup int) evaluation.Options {
	o := evaluation.DefaultOptions(seed)
	o.Noise = noise
	if minSNR > 0 {
		o.MinSNR = minSNR
	}
	if days > 0 {
		o.Days = days
	}
	if warmup > 0 {
		o.WarmupDays = warmup
	}
	return o
}

// runTrace prints what the detectors say about one key, minute by minute,
// with the plants nearby: the tool for "why did it (not) fire?".
func runTrace(seedsFlag string, days, warmup int, key string, from, to int) error {
	seeds, err := parseSeeds(seedsFlag)
	if err != nil {
		return err
	}
	sc, err := evaluation.Generate(options(seeds[0], days, warmup))
	if err != nil {
		return err
	}
	det, err := anomaly.New(anomaly.DefaultConfig())
	if err != nil {
		return err
	}
	if to <= from || from < 0 || to > sc.Minutes {
		return fmt.Errorf("trace: need 0 ≤ -from < -to ≤ %d", sc.Minutes)
	}
	for _, p := range sc.Plants {
		if p.End > from-12*60 && p.Start < to {
			fmt.Printf("plant %-18s %-22s %6d–%6d SNR %5.1f  %s\n", p.Type, p.Subject, p.Start, p.End, p.SNR, p.Magnitude)
		}
	}
	lookback := int(det.Config().Lookback() / time.Minute)
	for t := from; t < to; t++ {
		for _, f := range det.Detect(sc.Input(t, lookback)) {
			if f.Key == key {
				fmt.Printf("%6d %s %-8s %s\n", t, sc.Time(t).In(sc.Location).Format("Mon 15:04"), f.Severity, f.Explanation)
			}
		}
	}
	return nil
}

// runRobustness replays the seeds at each noise level and least SNR and
// prints one row per combination: recall per type and false alarms per day.
func runRobustness(seedsFlag string, days, warmup int) error {
	seeds, err := parseSeeds(seedsFlag)
	if err != nil {
		return err
	}
	fmt.Println("| noise | min SNR | " + strings.Join(typeNames(), " | ") + " | false alarms / day |")
	fmt.Println("|---|---|" + strings.Repeat("--:|", len(anomaly.Types())) + "--:|")
	for _, n := range []float64{1, 2} {
		for _, snr := range []float64{3, 4, 6} {
			noise, minSNR = n, snr
			results, err := replay(seeds, days, warmup)
			if err != nil {
				return err
			}
			r := evaluation.Combine(results...)
			row := fmt.Sprintf("| ×%g | %g |", n, snr)
			for _, ts := range r.Types {
				if ts.Plants == 0 {
					row += " — |"
					continue
				}
				row += fmt.Sprintf(" %.2f |", float64(ts.Detected)/float64(ts.Plants))
			}
			fmt.Printf("%s %.2f |\n", row, r.FalseAlarmsPerDay())
		}
	}
	return nil
}

func typeNames() []string {
	var out []string
	for _, t := range anomaly.Types() {
		out = append(out, string(t))
	}
	return out
}

// replay generates and replays each seed's scenario, in parallel.
func replay(seeds []uint64, days, warmup int) ([]*evaluation.Result, error) {
	det, err := anomaly.New(anomaly.DefaultConfig())
	if err != nil {
		return nil, err
	}
	lc := anomaly.NewLifecycle(anomaly.DefaultLifecycleConfig())
	results := make([]*evaluation.Result, len(seeds))
	errs := make([]error, len(seeds))
	var wg sync.WaitGroup
	sem := make(chan struct{}, runtime.GOMAXPROCS(0))
	for i, seed := range seeds {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			sc, err := evaluation.Generate(options(seed, days, warmup))
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
			return nil, err
		}
	}
	return results, nil
}

func run(seedsFlag string, days, warmup int, verbose bool) error {
	seeds, err := parseSeeds(seedsFlag)
	if err != nil {
		return err
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
			sc, err := evaluation.Generate(options(seed, days, warmup))
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

	for i, r := range results {
		fmt.Printf("## seed %d\n\n", seeds[i])
		r.WriteTable(os.Stdout)
		if verbose {
			fmt.Println()
			r.WriteDetails(os.Stdout)
		}
		fmt.Println()
	}
	if len(results) > 1 {
		fmt.Println("## all seeds")
		fmt.Println()
		evaluation.Combine(results...).WriteTable(os.Stdout)
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
