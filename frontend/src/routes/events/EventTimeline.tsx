// Events over the selected range, one bar per interval. From the rollups
// the bars are stacked by the busiest topics; with filters the rollups do
// not keep, each of 24 intervals is counted exactly.
import { useMemo } from "react";
import type { TimelineBucket, TimelineTopic } from "../../api/events";
import { TimeChart, type ChartSeries } from "../../components/TimeChart";
import { formatNumber } from "../../lib/format";

/** Topics drawn on their own; the rest are stacked together as "other". */
export const stackedTopics = 5;

export const chartColors = ["--chart-1", "--chart-2", "--chart-3", "--chart-4", "--chart-5"] as const;

export function timelineSummary(buckets: readonly TimelineBucket[]): string {
  const total = buckets.reduce((n, b) => n + b.count, 0);
  const peak = buckets.reduce<TimelineBucket | null>((p, b) => (!p || b.count > p.count ? b : p), null);
  if (!peak || total === 0) return "No events in this range.";
  return `${formatNumber(total)} events; the busiest interval, starting ${peak.from.toLocaleString()}, had ${formatNumber(peak.count)}.`;
}

/**
 * The bars as stacked series: the total first ("other" shows above the
 * named topics), then running sums of the busiest topics, largest at the
 * bottom. Each series is drawn over the previous one.
 */
export function stackSeries(buckets: readonly TimelineBucket[], topics: readonly TimelineTopic[]): ChartSeries[] {
  const named = topics.slice(0, stackedTopics);
  const totals = buckets.map((b) => b.count);
  if (named.length === 0) return [{ label: "Events", values: totals, color: "--accent", kind: "bars" }];
  const out: ChartSeries[] = [];
  // The tooltip shows each topic's own count, not the running sum it is drawn at.
  const namedSum = buckets.map((_, i) => named.reduce((n, t) => n + (t.counts[i] ?? 0), 0));
  if (topics.length > named.length)
    out.push({ label: "other topics", values: totals, tooltipValues: totals.map((v, i) => v - (namedSum[i] ?? 0)), color: "--chart-other", kind: "bars" });
  for (let k = named.length - 1; k >= 0; k--) {
    const values = buckets.map((_, i) => named.slice(0, k + 1).reduce((n, t) => n + (t.counts[i] ?? 0), 0));
    const topic = named[k];
    if (topic) out.push({ label: topic.topic, values, tooltipValues: buckets.map((_, i) => topic.counts[i] ?? 0), color: chartColors[k] ?? "--accent", kind: "bars" });
  }
  return out;
}

/** "3:00 PM – 3:01 PM": the interval a bar counts. */
export function bucketLabel(b: TimelineBucket): string {
  const sameDay = b.from.toDateString() === b.to.toDateString();
  return `${b.from.toLocaleString()} – ${sameDay ? b.to.toLocaleTimeString() : b.to.toLocaleString()}`;
}

const eventsValue = (v: number) => `${formatNumber(v)} event${v === 1 ? "" : "s"}`;

export function EventTimeline({
  buckets,
  topics,
  source,
  onZoom,
}: {
  buckets: TimelineBucket[];
  topics: TimelineTopic[];
  source: "rollups" | "exact";
  onZoom?: (from: Date, to: Date) => void;
}) {
  const first = buckets[0];
  const last = buckets[buckets.length - 1];
  const times = useMemo(() => buckets.map((b) => (b.from.getTime() + b.to.getTime()) / 2000), [buckets]);
  const series = useMemo(() => stackSeries(buckets, topics), [buckets, topics]);
  const xRange = useMemo<[number, number] | undefined>(
    () => (first && last ? [first.from.getTime() / 1000, last.to.getTime() / 1000] : undefined),
    [first, last],
  );
  const shown = topics.slice(0, stackedTopics);
  return (
    <figure className="timeline">
      <TimeChart
        times={times}
        series={series}
        xRange={xRange}
        height={160}
        label={`Event timeline. ${timelineSummary(buckets)}`}
        testId="timeline"
        formatValue={formatNumber}
        tooltipValue={eventsValue}
        tooltipTime={(i) => (buckets[i] ? bucketLabel(buckets[i]) : "")}
        onZoom={onZoom}
        legendReversed
      />
      <figcaption className="muted">
        {timelineSummary(buckets)}{" "}
        {source === "exact" ? "Each interval counted exactly with every filter." : "From the per-minute rollups (whole minutes)."}{" "}
        <details className="inline-details">
          <summary>As a table</summary>
          <table className="data-table compact">
            <thead>
              <tr>
                <th scope="col">From</th>
                <th scope="col">To</th>
                <th scope="col">Events</th>
                {shown.map((t) => (
                  <th scope="col" key={t.topic}>
                    {t.topic}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {buckets.map((b, i) => (
                <tr key={b.from.toISOString()}>
                  <td>{b.from.toLocaleString()}</td>
                  <td>{b.to.toLocaleString()}</td>
                  <td className="num">{formatNumber(b.count)}</td>
                  {shown.map((t) => (
                    <td className="num" key={t.topic}>
                      {formatNumber(t.counts[i] ?? 0)}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      </figcaption>
    </figure>
  );
}
