// Traffic over the window, one point per minute, hour or day (the server
// chooses by the range): events, deliveries, duplicates and rejections.
import { useMemo } from "react";
import { TimeChart, type ChartSeries } from "../../components/TimeChart";
import type { SeriesPointFieldsFragment } from "../../gql/graphql";
import { formatNumber } from "../../lib/format";

export function volumeSummary(points: readonly SeriesPointFieldsFragment[], granularity: string): string {
  const total = points.reduce((n, p) => n + p.events, 0);
  if (total === 0) return "No events in this window.";
  const peak = points.reduce((a, b) => (b.events > a.events ? b : a));
  return `${formatNumber(total)} events over ${points.length} ${granularity}s; the busiest ${granularity}, starting ${new Date(peak.time).toLocaleString()}, had ${formatNumber(peak.events)}.`;
}

export function VolumeChart({
  points,
  granularity,
  from,
  to,
  onZoom,
}: {
  points: SeriesPointFieldsFragment[];
  granularity: string;
  from: string;
  to: string;
  onZoom?: (from: Date, to: Date) => void;
}) {
  const times = useMemo(() => points.map((p) => new Date(p.time).getTime() / 1000), [points]);
  const series = useMemo<ChartSeries[]>(
    () => [
      { label: "events", values: points.map((p) => p.events), color: "--accent" },
      { label: "deliveries", values: points.map((p) => p.deliveries), color: "--chart-2", dash: [6, 4] },
      { label: "duplicates", values: points.map((p) => p.duplicates), color: "--warn" },
      { label: "rejected", values: points.map((p) => p.rejected), color: "--bad" },
    ],
    [points],
  );
  const xRange = useMemo<[number, number]>(() => [new Date(from).getTime() / 1000, new Date(to).getTime() / 1000], [from, to]);
  const summary = volumeSummary(points, granularity);
  return (
    <section className="card overview-chart" aria-labelledby="volume-title">
      <h2 id="volume-title">Volume per {granularity}</h2>
      <TimeChart
        times={times}
        series={series}
        xRange={xRange}
        label={`Volume chart. ${summary}`}
        testId="volume-chart"
        formatValue={formatNumber}
        tooltipValue={(v) => `${formatNumber(v)} per ${granularity}`}
        tooltipTime={(i) => (points[i] ? `${granularity} from ${new Date(points[i].time).toLocaleString()}` : "")}
        onZoom={onZoom}
      />
      <div className="muted small">
        {summary} Deliveries reach the figures about half a minute after they arrive. Times are when hooklens received each delivery. Drag across the chart to zoom in.{" "}
        <details className="inline-details">
          <summary>As a table</summary>
          <table className="data-table compact">
            <thead>
              <tr>
                <th scope="col">From</th>
                <th scope="col">Events</th>
                <th scope="col">Deliveries</th>
                <th scope="col">Duplicates</th>
                <th scope="col">Rejected</th>
                <th scope="col">Processed</th>
                <th scope="col">Failed attempts</th>
              </tr>
            </thead>
            <tbody>
              {points.map((p) => (
                <tr key={p.time}>
                  <td>{new Date(p.time).toLocaleString()}</td>
                  <td className="num">{formatNumber(p.events)}</td>
                  <td className="num">{formatNumber(p.deliveries)}</td>
                  <td className="num">{formatNumber(p.duplicates)}</td>
                  <td className="num">{formatNumber(p.rejected)}</td>
                  <td className="num">{formatNumber(p.processed)}</td>
                  <td className="num">{formatNumber(p.failedAttempts)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      </div>
    </section>
  );
}
