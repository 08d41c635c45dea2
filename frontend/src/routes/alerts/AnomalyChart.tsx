// One anomaly against what was expected: the measured series around its
// window (where the API keeps one), the window shaded, and over it the
// observed value, the expected value and the normal range. Nothing is
// drawn that was not measured.
import { useMemo, useState } from "react";
import { useAnomalyContext } from "../../api/anomalies";
import { ErrorState, Loading } from "../../components/States";
import { TimeChart, type ChartSeries } from "../../components/TimeChart";
import type { AnomalyFieldsFragment } from "../../gql/graphql";
import { anomalyUnit, formatAnomalyValue, type ContextPoint } from "../../lib/anomalies";
import { formatNumber } from "../../lib/format";

/** A value on the y axis: short, its unit in the legend. */
export function axisValue(type: string, v: number): string {
  if (anomalyUnit(type) === "share") return `${+(v * 100).toFixed(1)} %`;
  return formatNumber(+v.toFixed(2));
}

/** Values over the window only (null elsewhere), for the expected lines. */
function overWindow(times: number[], from: number, to: number, v: number | null | undefined): (number | null)[] {
  return times.map((t) => (v !== null && v !== undefined && Number.isFinite(v) && t >= from && t <= to ? v : null));
}

export function chartData(a: AnomalyFieldsFragment, points: readonly ContextPoint[], seriesLabel: string) {
  const ws = new Date(a.windowStart).getTime() / 1000;
  const we = new Date(a.windowEnd).getTime() / 1000;
  // Without a measured series the chart spans the window alone.
  const times = points.length > 0 ? points.map((p) => p.time / 1000) : [ws, we];
  const inWindow = (v: number | null | undefined) => overWindow(times, ws, we, v);
  const series: ChartSeries[] = [];
  if (points.length > 0) series.push({ label: seriesLabel, values: points.map((p) => p.value), color: "--accent" });
  series.push({ label: "observed in the window", values: inWindow(a.observed), color: "--bad" });
  series.push({ label: "expected", values: inWindow(a.expected), color: "--ok", dash: [6, 4] });
  const hasBand = a.expectedLow !== null && a.expectedLow !== undefined && a.expectedHigh !== null && a.expectedHigh !== undefined && Number.isFinite(a.expectedHigh);
  let band: { upper: number; lower: number; color: string } | null = null;
  if (hasBand) {
    series.push({ label: "expected high", values: inWindow(a.expectedHigh), color: "--ok", hideInLegend: true });
    series.push({ label: "expected low", values: inWindow(a.expectedLow), color: "--ok", hideInLegend: true });
    band = { upper: series.length - 2, lower: series.length - 1, color: "--ok" };
  }
  return { times, series, band, highlight: { from: ws, to: we } };
}

export function AnomalyChart({ anomaly }: { anomaly: AnomalyFieldsFragment }) {
  const [now] = useState(() => new Date());
  const { plan, points, loading, error } = useAnomalyContext(anomaly, now);
  const data = useMemo(() => chartData(anomaly, points, plan.seriesLabel), [anomaly, points, plan.seriesLabel]);
  if (error) return <ErrorState error={error} title="Could not load the series around this anomaly" />;
  if (loading) return <Loading label="Loading the series around the anomaly…" />;
  const fmt = (v: number) => axisValue(anomaly.type, v);
  const range =
    anomaly.expectedLow !== null && anomaly.expectedLow !== undefined
      ? ` (normal ${formatAnomalyValue(anomaly.type, anomaly.expectedLow)} – ${formatAnomalyValue(anomaly.type, anomaly.expectedHigh)})`
      : "";
  // The chart's busiest point in the window, beside the detector's own (windowed) peak, so the two can be told apart.
  const ws = new Date(anomaly.windowStart).getTime();
  const we = new Date(anomaly.windowEnd).getTime();
  const inWindow = points.filter((p) => p.time >= ws && p.time <= we && p.value !== null);
  const busiest = inWindow.reduce<ContextPoint | null>((m, p) => (m === null || (p.value ?? 0) > (m.value ?? 0) ? p : m), null);
  const peakNote =
    busiest && busiest.value !== null
      ? ` The highest point of the series in the window is ${formatAnomalyValue(anomaly.type, busiest.value)} (${new Date(busiest.time).toLocaleTimeString()}); the detector averages over its window${anomaly.peakObserved !== null && anomaly.peakObserved !== undefined ? `, ${formatAnomalyValue(anomaly.type, anomaly.peakObserved)} at its worst` : ""}.`
      : "";
  const label = `Observed ${formatAnomalyValue(anomaly.type, anomaly.observed)} against expected ${formatAnomalyValue(anomaly.type, anomaly.expected)}${range} from ${new Date(anomaly.windowStart).toLocaleString()} to ${new Date(anomaly.windowEnd).toLocaleString()}.`;
  return (
    <figure className="anomaly-chart" data-testid="anomaly-chart" data-source={plan.source}>
      <TimeChart times={data.times} series={data.series} band={data.band} highlight={data.highlight} height={200} label={label} formatValue={fmt} tooltipValue={(v) => formatAnomalyValue(anomaly.type, v)} testId="anomaly-chart-canvas" />
      <figcaption className="muted small">
        {label}
        <span data-testid="anomaly-peak">{peakNote}</span> {plan.note}{" "}
        {points.length > 0 && (
          <details className="inline-details">
            <summary>As a table</summary>
            <table className="data-table compact">
              <thead>
                <tr>
                  <th scope="col">From</th>
                  <th scope="col">{plan.seriesLabel}</th>
                </tr>
              </thead>
              <tbody>
                {points.map((p) => (
                  <tr key={p.time}>
                    <td>{new Date(p.time).toLocaleString()}</td>
                    <td className="num">{formatAnomalyValue(anomaly.type, p.value)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </details>
        )}
      </figcaption>
    </figure>
  );
}
