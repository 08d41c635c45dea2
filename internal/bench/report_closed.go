package bench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// writeClosedText writes a closed-loop comparison for people.
func writeClosedText(w io.Writer, rep *Report) error {
	c := rep.Closed
	fmt.Fprintf(w, "\nhooklens bench %s — closed loop on %s against the ceiling receiver, %d requests a run (at most %.0f s), %d pair(s) a level, %.0f%% duplicates, seed %d\n",
		rep.Name, rep.Kind, c.Requests, c.MaxDuration, c.Pairs, 100*rep.Traffic.DuplicateShare, rep.Seed)
	if rep.Void {
		fmt.Fprintf(w, "VOID: %s\n", rep.VoidReason)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "conns\tpair\tsystem\tacked\tnot acked\treq/s\tack p50 ms\tack p99 ms\tCPU µs/webhook\tserver\tdatabase\tdrain s\treceipt→processed p50 ms\tp99 ms\tbytes/event\tledger\t")
	for _, lv := range c.Levels {
		for _, r := range lv.Runs {
			e2e50, e2e99 := "-", "-"
			if r.EndToEnd != nil {
				e2e50, e2e99 = fmt.Sprintf("%.0f", r.EndToEnd.Latency.P50), fmt.Sprintf("%.0f", r.EndToEnd.Latency.P99)
			}
			ledger := "balances"
			if !r.Balanced {
				ledger = "VOID"
			}
			l := r.Load
			fmt.Fprintf(tw, "%d\t%d\t%s\t%d\t%d\t%.0f\t%.1f\t%.1f\t%.0f\t%.0f\t%.0f\t%.1f\t%s\t%s\t%.0f\t%s\t\n",
				lv.Connections, r.Pair, r.System, l.Acked, l.Rejected+l.Errors+l.Timeouts+l.CutOff, r.RequestsPerS, l.Ack.P50, l.Ack.P99,
				r.CPUPerWebhookUS, r.ServerCPUPerWebhookUS, r.DBCPUPerWebhookUS, r.DrainS, e2e50, e2e99, r.BytesPerEvent, ledger)
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	for _, lv := range c.Levels {
		var pairs []string
		for _, p := range lv.Ratios {
			pairs = append(pairs, fmt.Sprintf("pair %d: %.2f / %.2f / %.2f", p.Pair, p.RequestsPerS, p.CPUPerWebhook, p.BytesPerEvent))
		}
		fmt.Fprintf(w, "%d connections, hooklens ÷ ceiling (req/s / CPU per webhook / bytes per event): median %.2f / %.2f / %.2f (%s)\n",
			lv.Connections, lv.Median.RequestsPerS, lv.Median.CPUPerWebhook, lv.Median.BytesPerEvent, strings.Join(pairs, "; "))
	}
	writeFooter(w, rep)
	return nil
}

// writeContentionText writes the contention scenario for people.
func writeContentionText(w io.Writer, rep *Report) error {
	c := rep.Contention
	fmt.Fprintf(w, "\nhooklens bench %s — SQLite ingest under contention: %.0f webhooks/s for %s over %d prefilled events, with the pipeline, a bulk replay, a rollup rebuild and %d burner threads\n",
		rep.Name, rep.Traffic.Rate, rep.Traffic.Duration, c.Prefilled, c.BurnThreads)
	if rep.Void {
		fmt.Fprintf(w, "VOID: %s\n", rep.VoidReason)
	}
	if l := c.Load; l != nil {
		fmt.Fprintf(w, "Ack: p50 %.1f ms, p90 %.1f ms, p99 %.1f ms, max %.1f ms over %d requests; %d acknowledged, %d rejected, %d errors, %d timeouts; generator dispatch lag p99 %.1f ms\n",
			l.Ack.P50, l.Ack.P90, l.Ack.P99, l.Ack.Max, l.Sent, l.Acked, l.Rejected, l.Errors, l.Timeouts, l.Generator.DispatchLag.P99)
		for _, e := range l.FirstErrors {
			fmt.Fprintf(w, "  %s\n", e)
		}
	}
	replay := fmt.Sprintf("%s, %d of %d events when the load ended", c.ReplayStatus, c.ReplayDone, c.ReplayTotal)
	if c.ReplayError != "" {
		replay = "FAILED: " + c.ReplayError
	}
	rebuild := fmt.Sprintf("%.1f s", c.RebuildS)
	if !c.RebuildFinished {
		rebuild += " (outlasted the load)"
	}
	if c.RebuildError != "" {
		rebuild = "FAILED: " + c.RebuildError
	}
	fmt.Fprintf(w, "Replay: %s. Rollup rebuild: %s. Machine: %.2f cores busy during the load; server %.1f CPU s.\n", replay, rebuild, c.MachineCores, c.ServerCPUS)
	writeFooter(w, rep)
	return nil
}

// writeFooter writes the targets, notes and machine of rep.
func writeFooter(w io.Writer, rep *Report) {
	for _, tg := range rep.Targets {
		mark := "met"
		if !tg.Met {
			mark = "MISSED"
		}
		fmt.Fprintf(w, "Target %s: want %s, got %.2f %s — %s\n", tg.Name, tg.Want, tg.Got, tg.Unit, mark)
	}
	for _, n := range rep.Notes {
		fmt.Fprintf(w, "Note: %s\n", n)
	}
	fmt.Fprintf(w, "Machine: %s, %d cores, %.0f GB, %s, %s; load average %.2f at the start, %.2f cores busy just before; fsync p50 %.1f ms, p99 %.1f ms\n",
		rep.Machine.CPU, rep.Machine.Cores, rep.Machine.MemoryGB, rep.Machine.Go, rep.Machine.Database, rep.Machine.LoadAvg,
		rep.Machine.BusyBefore, rep.Machine.Fsync.P50, rep.Machine.Fsync.P99)
}

// mdClosed is the BENCHMARKS.md section of the closed-loop comparisons.
func mdClosed(b *strings.Builder, reps []*Report) {
	var closed []*Report
	for _, r := range reps {
		if r.Closed != nil {
			closed = append(closed, r)
		}
	}
	if len(closed) == 0 {
		return
	}
	b.WriteString("### Closed loop: hooklens against the ceiling receiver\n\n")
	b.WriteString("Each connection sends its next signed webhook as soon as the last is answered. Runs alternate hooklens, ceiling, hooklens, ceiling…, on fresh databases of the same server, with the same bodies. The ceiling receiver (`hooklens bench ceiling`) verifies the same HMAC, parses `id` and group-commits the raw body into one table with a unique key. CPU per webhook is the receiver's process plus the PostgreSQL backends serving its database, from the first request until hooklens' pipeline had processed every event, divided by the acknowledged requests. Bytes per event: the growth of the database over the run ÷ distinct events stored — PostgreSQL after `VACUUM`, every table of the database with its indexes and TOAST; SQLite the file plus its WAL.\n\n")
	b.WriteString("| db | conns | system | pair | req/s | ack p50 / p99 ms | CPU µs/webhook (server + db) | receipt→processed p50 / p99 ms | drain s | bytes/event | ledger |\n|---|--:|---|--:|--:|--:|--:|--:|--:|--:|---|\n")
	for _, r := range closed {
		for _, lv := range r.Closed.Levels {
			for _, run := range lv.Runs {
				e2e := "—"
				if run.EndToEnd != nil {
					e2e = fmt.Sprintf("%.0f / %.0f", run.EndToEnd.Latency.P50, run.EndToEnd.Latency.P99)
				}
				drain := "—"
				if run.System == SystemHooklens {
					drain = fmt.Sprintf("%.1f", run.DrainS)
					if !run.Drained {
						drain += " (**backlog**)"
					}
				}
				ledger := "balances"
				if !run.Balanced {
					ledger = "**void**"
				}
				fmt.Fprintf(b, "| %s | %d | %s | %d | %.0f | %.1f / %.1f | %.0f (%.0f + %.0f) | %s | %s | %.0f | %s |\n",
					r.Kind, lv.Connections, run.System, run.Pair, run.RequestsPerS, run.Load.Ack.P50, run.Load.Ack.P99,
					run.CPUPerWebhookUS, run.ServerCPUPerWebhookUS, run.DBCPUPerWebhookUS, e2e, drain, run.BytesPerEvent, ledger)
			}
		}
	}
	b.WriteString("\n**hooklens ÷ ceiling**, median over the pairs (each pair's ratio in brackets); targets at 64 connections: req/s ≥ 0.75, CPU per webhook ≤ 2.5, bytes per event ≤ 1.8.\n\n")
	b.WriteString("| db | conns | req/s | CPU per webhook | bytes per event |\n|---|--:|--:|--:|--:|\n")
	for _, r := range closed {
		for _, lv := range r.Closed.Levels {
			var a, c, d []string
			for _, p := range lv.Ratios {
				a = append(a, fmt.Sprintf("%.2f", p.RequestsPerS))
				c = append(c, fmt.Sprintf("%.2f", p.CPUPerWebhook))
				d = append(d, fmt.Sprintf("%.2f", p.BytesPerEvent))
			}
			fmt.Fprintf(b, "| %s | %d | %.2f (%s) | %.2f (%s) | %.2f (%s) |\n", r.Kind, lv.Connections,
				lv.Median.RequestsPerS, strings.Join(a, ", "), lv.Median.CPUPerWebhook, strings.Join(c, ", "), lv.Median.BytesPerEvent, strings.Join(d, ", "))
		}
	}
	b.WriteString("\n")
	for _, r := range closed {
		fmt.Fprintf(b, "- **%s** — %s%s\n", r.Name, lastNote(r), mdTargets(r))
	}
	b.WriteString("\n")
}

// mdContention is the BENCHMARKS.md section of the contention scenario.
func mdContention(b *strings.Builder, reps []*Report) {
	for _, r := range reps {
		c := r.Contention
		if c == nil || c.Load == nil {
			continue
		}
		b.WriteString("### SQLite ingest under contention\n\n")
		l := c.Load
		replay := fmt.Sprintf("%s, %d of %d events by the load's end", c.ReplayStatus, c.ReplayDone, c.ReplayTotal)
		if c.ReplayError != "" {
			replay = "failed: " + c.ReplayError
		}
		rebuild := fmt.Sprintf("%.1f s", c.RebuildS)
		if c.RebuildError != "" {
			rebuild = "failed: " + c.RebuildError
		}
		fmt.Fprintf(b, "| rate/s | requests | ack p50 ms | ack p99 ms | ack max ms | not acked | replay | rollup rebuild | burner threads | machine cores busy | ledger |\n|--:|--:|--:|--:|--:|--:|---|--:|--:|--:|---|\n")
		ledger := "balances"
		if r.Void {
			ledger = "**void**"
		}
		fmt.Fprintf(b, "| %.0f | %d | %.1f | %.1f | %.0f | %d | %s | %s | %d | %.2f | %s |\n\n",
			r.Traffic.Rate, l.Sent, l.Ack.P50, l.Ack.P99, l.Ack.Max, l.Sent-l.Acked, replay, rebuild, c.BurnThreads, c.MachineCores, ledger)
		fmt.Fprintf(b, "- **%s** — %s%s\n\n", r.Name, lastNote(r), mdTargets(r))
	}
}

func mdTargets(r *Report) string {
	var out []string
	for _, tg := range r.Targets {
		mark := "✅"
		if !tg.Met {
			mark = "❌"
		}
		if tg.Unit == "" {
			out = append(out, mark+" "+tg.Name)
			continue
		}
		out = append(out, fmt.Sprintf("%s %s (%.2f %s)", mark, tg.Name, tg.Got, tg.Unit))
	}
	if len(out) == 0 {
		return ""
	}
	return ". " + strings.Join(out, "; ")
}
