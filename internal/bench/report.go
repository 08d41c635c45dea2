package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
)

// WriteJSON writes rep as indented JSON to path, creating its directory.
func WriteJSON(path string, rep any) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return fmt.Errorf("creating %s: %w", filepath.Dir(path), err)
	}
	raw, err := json.MarshalIndent(rep, "", "  ")
	if err != nil {
		return fmt.Errorf("encoding the report: %w", err)
	}
	if err := os.WriteFile(path, append(raw, '\n'), 0o644); err != nil {
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

// Totals adds up the request ledger of every step.
func (r *Report) Totals() LoadResult {
	var t LoadResult
	for _, s := range r.Steps {
		l := s.Load
		t.Scheduled += l.Scheduled
		t.Sent += l.Sent
		t.Acked += l.Acked
		t.Duplicates += l.Duplicates
		t.Rejected += l.Rejected
		t.Errors += l.Errors
		t.Timeouts += l.Timeouts
		t.CutOff += l.CutOff
	}
	return t
}

// Main is the step the report's headline numbers come from: the held step
// of a ramp, the only step of a fixed run.
func (r *Report) Main() *Step {
	if r.Held != nil {
		return r.Held
	}
	if r.Mode == "fixed" && len(r.Steps) > 0 {
		return &r.Steps[0]
	}
	return nil
}

// WriteText writes rep for people.
func WriteText(w io.Writer, rep *Report) error {
	switch {
	case rep.Closed != nil:
		return writeClosedText(w, rep)
	case rep.Contention != nil:
		return writeContentionText(w, rep)
	}
	fmt.Fprintf(w, "\nhooklens bench %s — %s run on %s, %s profile, %.0f%% duplicates, seed %d\n",
		rep.Name, rep.Mode, rep.Kind, rep.Traffic.Profile, 100*rep.Traffic.DuplicateShare, rep.Seed)
	if rep.Void {
		fmt.Fprintf(w, "VOID: %s\n", rep.VoidReason)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "rate/s\tsent\tacked\tevents/s\tack p50 ms\tp90\tp99\tmax\tnot acked\tserver cores\tCPU µs/req\tdb cores\tmachine cores\tgen lag p99 ms\tverdict\t")
	for _, s := range rep.Steps {
		l := s.Load
		cores, per := "?", "?"
		if s.ServerCPUS >= 0 {
			cores, per = fmt.Sprintf("%.2f", s.ServerCores), fmt.Sprintf("%.0f", s.ServerCPUPerReqUS)
		}
		v := "held"
		if !s.Pass {
			v = "NOT HELD"
		}
		db := "-"
		if s.DatabaseCores >= 0 {
			db = fmt.Sprintf("%.2f", s.DatabaseCores)
		}
		fmt.Fprintf(tw, "%.0f\t%d\t%d\t%.0f\t%.1f\t%.1f\t%.1f\t%.1f\t%d\t%s\t%s\t%s\t%.2f\t%.2f\t%s\t\n",
			s.Rate, l.Sent, l.Acked, s.EventsPerS, l.Ack.P50, l.Ack.P90, l.Ack.P99, l.Ack.Max,
			l.Rejected+l.Errors+l.Timeouts, cores, per, db, s.MachineCores, l.Generator.DispatchLag.P99, v)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, s := range rep.Steps {
		if !s.Pass {
			fmt.Fprintf(w, "  %.0f/s not held: %s\n", s.Rate, s.Why)
		}
		if r := s.Load.AckRepeats; r.Count > 0 {
			fmt.Fprintf(w, "  %.0f/s repeated deliveries (%d): ack p50 %.1f ms, p99 %.1f ms, max %.1f ms\n", s.Rate, r.Count, r.P50, r.P99, r.Max)
		}
	}
	if rep.Mode == "ramp" {
		if rep.Held != nil {
			fmt.Fprintf(w, "Held: %.0f requests/s (%.0f new events/s) with p99 ack %.1f ms\n", rep.Held.Rate, rep.Held.EventsPerS, rep.Held.Load.Ack.P99)
		} else {
			fmt.Fprintln(w, "Held: no step passed")
		}
	} else {
		fmt.Fprintf(w, "Throughput: %.0f requests/s acknowledged (%.0f new events/s)\n", rep.Throughput, rep.EventsPerS)
	}
	t := rep.Totals()
	l := rep.Ledger
	verdict := "balances"
	if !l.Checked {
		verdict = "UNCHECKED"
	} else if !l.Balanced {
		verdict = "DOES NOT BALANCE (" + l.Reason + ")"
	}
	fmt.Fprintf(w, "Ledger: %s — scheduled %d = sent %d + cut off %d; sent = %d acked + %d rejected + %d errors + %d timeouts",
		verdict, t.Scheduled, t.Sent, t.CutOff, t.Acked, t.Rejected, t.Errors, t.Timeouts)
	if l.Checked {
		fmt.Fprintf(w, "; %d unique events acknowledged, %d stored (%d stored unacknowledged, %d lost)", l.UniqueAcked, l.Stored, l.StoredUnacked, l.Lost)
	}
	fmt.Fprintln(w)
	if l.Checked {
		e := rep.EndToEnd
		fmt.Fprintf(w, "Receipt → processed: p50 %.0f ms, p90 %.0f ms, p99 %.0f ms, max %.0f ms over %d events (p99 %.0f ms counting the batch's commit); %d not processed; drained in %.1f s\n",
			e.Latency.P50, e.Latency.P90, e.Latency.P99, e.Latency.Max, e.Processed, e.Committed.P99, e.NotProcessed, e.DrainS)
	}
	if rep.Server != nil {
		fmt.Fprintf(w, "Server: %.1f CPU s while sending (%.1f s until drained), peak RSS %.0f MB, nice %d\n",
			rep.Server.LoadCPUS, rep.Server.CPUS, float64(rep.Server.PeakRSS)/(1<<20), rep.Server.Nice)
	} else {
		fmt.Fprintln(w, "Server: CPU and memory unknown (a server this run did not start)")
	}
	if m := rep.Metrics; m != nil {
		fmt.Fprintf(w, "Batching: %.0f group commits of %.1f deliveries on average; %.0f pipeline batches of %.1f events, %.1f ms each on average\n",
			m.IngestCommits, m.IngestBatchMean, m.PipelineBatches, m.PipelineBatchMean, m.PipelineBatchMS)
	}
	if b := rep.Baseline; b != nil {
		fmt.Fprintf(w, "Baseline: raw batched inserts of the same rows reach %.0f requests/s (%d per transaction, %d writer(s)); ingest is %.0f%% of it\n",
			b.RequestsPerS, b.Batch, b.Writers, 100*rep.BaselineShare)
	}
	for _, tg := range rep.Targets {
		mark := "met"
		if !tg.Met {
			mark = "MISSED"
		}
		fmt.Fprintf(w, "Target %s: want %s, got %.1f %s — %s\n", tg.Name, tg.Want, tg.Got, tg.Unit, mark)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "Note: %s\n", n)
	}
	fmt.Fprintf(w, "Machine: %s, %d cores, %.0f GB, %s, %s; load average %.2f at the start",
		rep.Machine.CPU, rep.Machine.Cores, rep.Machine.MemoryGB, rep.Machine.Go, rep.Machine.Database, rep.Machine.LoadAvg)
	fmt.Fprintf(w, ", %.2f cores busy just before; fsync p50 %.1f ms, p99 %.1f ms, max %.1f ms",
		rep.Machine.BusyBefore, rep.Machine.Fsync.P50, rep.Machine.Fsync.P99, rep.Machine.Fsync.Max)
	fmt.Fprintln(w)
	return nil
}

// mdRow is one scenario's line in BENCHMARKS.md.
func mdRow(rep *Report) string {
	m := rep.Main()
	rate, p50, p99, maxv, evs, cores, per, db := "—", "—", "—", "—", "—", "—", "—", "—"
	if m == nil && len(rep.Steps) > 0 {
		// A ramp that held nothing: show its first step, marked.
		m = &rep.Steps[0]
		rate = fmt.Sprintf("none held (%.0f)", m.Rate)
	}
	if m != nil {
		if rate == "—" {
			rate = fmt.Sprintf("%.0f", m.Rate)
		}
		evs = fmt.Sprintf("%.0f", m.EventsPerS)
		p50 = fmt.Sprintf("%.1f", m.Load.Ack.P50)
		p99 = fmt.Sprintf("%.1f", m.Load.Ack.P99)
		maxv = fmt.Sprintf("%.0f", m.Load.Ack.Max)
		if m.ServerCPUS >= 0 {
			cores = fmt.Sprintf("%.2f", m.ServerCores)
			per = fmt.Sprintf("%.0f", m.ServerCPUPerReqUS)
		}
		if m.DatabaseCores >= 0 {
			db = fmt.Sprintf("%.2f", m.DatabaseCores)
		}
	}
	ledger := "balances"
	if rep.Void {
		ledger = "**void**"
	}
	t := rep.Totals()
	notAcked := t.Rejected + t.Errors + t.Timeouts
	base := "—"
	if rep.Baseline != nil {
		base = fmt.Sprintf("%.0f (%.0f%%)", rep.Baseline.RequestsPerS, 100*rep.BaselineShare)
	}
	rss := "—"
	if rep.Server != nil {
		rss = fmt.Sprintf("%.0f", float64(rep.Server.PeakRSS)/(1<<20))
	}
	var targets []string
	for _, tg := range rep.Targets {
		mark := "✅"
		if !tg.Met {
			mark = "❌"
		}
		targets = append(targets, mark+" "+tg.Name)
	}
	return fmt.Sprintf("| %s | %s | %s | %s | %s | %s | %s | %.0f / %.0f | %d | %s | %s | %s | %s | %s | %s | %s |",
		rep.Name, rep.Kind, rate, evs, p50, p99, maxv, rep.EndToEnd.Latency.P50, rep.EndToEnd.Latency.P99,
		notAcked, cores, per, db, rss, base, ledger, strings.Join(targets, "<br>"))
}

// mdHeader heads the BENCHMARKS.md summary table.
const mdHeader = `| scenario | db | rate/s | new events/s | ack p50 ms | ack p99 ms | ack max ms | receipt→processed p50 / p99 ms | not acked | server cores | server CPU µs/req | PostgreSQL cores | peak RSS MB | raw-insert baseline req/s (ingest share) | ledger | targets |
|---|---|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|---|`
