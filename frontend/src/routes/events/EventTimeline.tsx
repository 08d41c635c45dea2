// Events over the selected range, one bar per bucket, counted on the server.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { TimelineBucket } from "../../api/events";
import { formatNumber } from "../../lib/format";

function cssVar(el: Element, name: string, fallback: string): string {
  const v = getComputedStyle(el).getPropertyValue(name).trim();
  return v || fallback;
}

export function timelineSummary(buckets: readonly TimelineBucket[]): string {
  const total = buckets.reduce((n, b) => n + b.count, 0);
  const peak = buckets.reduce<TimelineBucket | null>((p, b) => (!p || b.count > p.count ? b : p), null);
  if (!peak || total === 0) return "No events in this range.";
  return `${formatNumber(total)} events; the busiest interval, starting ${peak.from.toLocaleString()}, had ${formatNumber(peak.count)}.`;
}

export function EventTimeline({ buckets }: { buckets: TimelineBucket[] }) {
  const ref = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = ref.current;
    if (!el || buckets.length === 0) return;
    const first = buckets[0];
    const last = buckets[buckets.length - 1];
    if (!first || !last) return;
    const width = (b: TimelineBucket) => (b.to.getTime() - b.from.getTime()) / 1000;
    const xs = buckets.map((b) => b.from.getTime() / 1000 + width(b) / 2);
    const ys = buckets.map((b) => b.count);
    const accent = cssVar(el, "--accent", "#2563eb");
    const axis = cssVar(el, "--muted", "#6b7280");
    const grid = cssVar(el, "--border", "#e5e7eb");
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height: 160,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true, range: () => [first.from.getTime() / 1000, last.to.getTime() / 1000] },
        y: { range: (_u, _min, max) => [0, Math.max(1, max)] },
      },
      axes: [
        { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
        { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: 50 },
      ],
      series: [
        {},
        {
          label: "Events",
          stroke: accent,
          fill: accent,
          paths: uPlot.paths.bars?.({ size: [0.85, 64] }),
          points: { show: false },
        },
      ],
    };
    const plot = new uPlot(opts, [xs, ys], el);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(el.clientWidth, 200), height: 160 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [buckets]);

  return (
    <figure className="timeline">
      <div ref={ref} className="timeline-chart" role="img" aria-label={`Event timeline. ${timelineSummary(buckets)}`} data-testid="timeline" />
      <figcaption className="muted">
        {timelineSummary(buckets)}{" "}
        <details className="inline-details">
          <summary>As a table</summary>
          <table className="data-table compact">
            <thead>
              <tr>
                <th scope="col">From</th>
                <th scope="col">To</th>
                <th scope="col">Events</th>
              </tr>
            </thead>
            <tbody>
              {buckets.map((b) => (
                <tr key={b.from.toISOString()}>
                  <td>{b.from.toLocaleString()}</td>
                  <td>{b.to.toLocaleString()}</td>
                  <td className="num">{formatNumber(b.count)}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </details>
      </figcaption>
    </figure>
  );
}
