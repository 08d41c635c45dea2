// A time-series chart (uPlot): lines or bars, an optional band between two
// series (an expected range) and an optional shaded window. Colours come
// from the theme's CSS variables. The chart is an image to assistive
// technology: callers give it a label that summarises it, and a table.
import { useEffect, useRef } from "react";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";

export interface ChartSeries {
  label: string;
  /** One value per time; null leaves a gap. */
  values: (number | null)[];
  /** A CSS colour variable of the theme, e.g. "--accent". */
  color: string;
  kind?: "line" | "bars";
  dash?: number[];
  /** Hidden from the legend (the edges of a band). */
  hideInLegend?: boolean;
}

export interface TimeChartProps {
  /** x values, Unix seconds. */
  times: number[];
  series: ChartSeries[];
  /** Fills between two series (indices into series): upper above lower. */
  band?: { upper: number; lower: number; color: string } | null;
  /** A shaded stretch of time, Unix seconds. */
  highlight?: { from: number; to: number } | null;
  xRange?: [number, number];
  height?: number;
  /** Summary read by screen readers. */
  label: string;
  formatValue?: (v: number) => string;
  testId?: string;
  /** List the legend last series first (stacked bars, drawn bottom-up). */
  legendReversed?: boolean;
}

function cssVar(el: Element, name: string, fallback: string): string {
  const v = getComputedStyle(el).getPropertyValue(name).trim();
  return v || fallback;
}

export function TimeChart({ times, series, band, highlight, xRange, height = 180, label, formatValue, testId, legendReversed }: TimeChartProps) {
  const ref = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const el = ref.current;
    if (!el || times.length === 0) return;
    const axis = cssVar(el, "--muted", "#6b7280");
    const grid = cssVar(el, "--border", "#e5e7eb");
    const shade = cssVar(el, "--warn", "#8a5a00");
    const fmt = formatValue ?? ((v: number) => String(v));
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height,
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      scales: {
        x: { time: true, ...(xRange ? { range: () => xRange } : {}) },
        y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.08 : 1] },
      },
      axes: [
        { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
        {
          stroke: axis,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid },
          size: 64,
          values: (_u, vals) => vals.map((v) => fmt(v)),
        },
      ],
      series: [
        {},
        ...series.map((s): uPlot.Series => {
          const color = cssVar(el, s.color, "#2563eb");
          return s.kind === "bars"
            ? { label: s.label, stroke: color, fill: color, paths: uPlot.paths.bars?.({ size: [0.85, 64] }), points: { show: false } }
            : { label: s.label, stroke: color, width: 2, dash: s.dash, spanGaps: false, points: { show: times.length < 40 } };
        }),
      ],
      bands: band ? [{ series: [band.upper + 1, band.lower + 1], fill: `${cssVar(el, band.color, "#2563eb")}33` }] : [],
      hooks: highlight
        ? {
            drawClear: [
              (u) => {
                const x0 = u.valToPos(highlight.from, "x", true);
                const x1 = u.valToPos(highlight.to, "x", true);
                const ctx = u.ctx;
                ctx.save();
                ctx.globalAlpha = 0.12;
                ctx.fillStyle = shade;
                ctx.fillRect(x0, u.bbox.top, Math.max(x1 - x0, 2), u.bbox.height);
                ctx.restore();
              },
            ],
          }
        : {},
    };
    const plot = new uPlot(opts, [times, ...series.map((s) => s.values)], el);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(el.clientWidth, 200), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [times, series, band, highlight, xRange, height, formatValue]);

  return (
    <div className="time-chart">
      <div ref={ref} className="time-chart-canvas" style={{ minHeight: height }} role="img" aria-label={label} data-testid={testId} />
      <ul className="legend" aria-hidden="true">
        {(legendReversed ? [...series].reverse() : series)
          .filter((s) => !s.hideInLegend)
          .map((s) => (
            <li key={s.label}>
              <span className={`swatch${s.dash ? " dashed" : ""}`} style={{ borderColor: `var(${s.color})`, background: s.kind === "bars" ? `var(${s.color})` : undefined }} />
              {s.label}
            </li>
          ))}
        {band && (
          <li>
            <span className="swatch band" style={{ background: `var(${band.color})` }} />
            expected range
          </li>
        )}
        {highlight && (
          <li>
            <span className="swatch window" />
            anomaly window
          </li>
        )}
      </ul>
    </div>
  );
}
