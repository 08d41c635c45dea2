// A time-series chart (uPlot): lines or bars, an optional band between two
// series (an expected range) and an optional shaded window. Colours come
// from the theme's CSS variables. Hovering shows a tooltip with the time and
// each series' value in its unit; dragging across selects a time range
// (onZoom). The chart is an image to assistive technology: callers give it a
// label that summarises it, and a table.
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
  /** What the tooltip shows when it differs from the drawn value (a stacked bar's own count). */
  tooltipValues?: (number | null)[];
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
  /** A value with its unit for the tooltip ("1,204 events per minute"); defaults to formatValue. */
  tooltipValue?: (v: number) => string;
  /** The tooltip's heading for the point at times[i]; defaults to the time. */
  tooltipTime?: (i: number) => string;
  /** Called with the time range the reader dragged across. */
  onZoom?: (from: Date, to: Date) => void;
}

export interface TooltipContent {
  time: string;
  rows: { label: string; value: string; color: string }[];
}

/** The tooltip for point i: the time, then each series shown in the legend with a value there. */
export function tooltipContent(
  i: number,
  times: readonly number[],
  series: readonly ChartSeries[],
  value: (v: number) => string,
  time?: (i: number) => string,
): TooltipContent | null {
  const t = times[i];
  if (t === undefined) return null;
  const rows: TooltipContent["rows"] = [];
  for (const s of series) {
    if (s.hideInLegend) continue;
    const v = (s.tooltipValues ?? s.values)[i];
    if (v === null || v === undefined) continue;
    rows.push({ label: s.label, value: value(v), color: s.color });
  }
  return { time: time ? time(i) : new Date(t * 1000).toLocaleString(), rows };
}

function cssVar(el: Element, name: string, fallback: string): string {
  const v = getComputedStyle(el).getPropertyValue(name).trim();
  return v || fallback;
}

export function TimeChart({
  times,
  series,
  band,
  highlight,
  xRange,
  height = 180,
  label,
  formatValue,
  testId,
  legendReversed,
  tooltipValue,
  tooltipTime,
  onZoom,
}: TimeChartProps) {
  const ref = useRef<HTMLDivElement>(null);
  const zoomable = onZoom !== undefined;
  // The latest callbacks, read by uPlot's hooks without rebuilding the chart.
  const callbacks = useRef({ tooltipValue, tooltipTime, onZoom });
  useEffect(() => {
    callbacks.current = { tooltipValue, tooltipTime, onZoom };
  });

  useEffect(() => {
    const el = ref.current;
    if (!el || times.length === 0) return;
    const axis = cssVar(el, "--muted", "#6b7280");
    const grid = cssVar(el, "--border", "#e5e7eb");
    const shade = cssVar(el, "--warn", "#8a5a00");
    const fmt = formatValue ?? ((v: number) => String(v));
    const tip = document.createElement("div");
    tip.className = "chart-tooltip";
    tip.setAttribute("aria-hidden", "true");
    tip.dataset.testid = "chart-tooltip";
    tip.hidden = true;
    const showTooltip = (u: uPlot) => {
      const i = u.cursor.idx;
      const left = u.cursor.left ?? -1;
      const top = u.cursor.top ?? -1;
      const content = i === null || i === undefined || left < 0 ? null : tooltipContent(i, times, series, callbacks.current.tooltipValue ?? fmt, callbacks.current.tooltipTime);
      if (!content || content.rows.length === 0) {
        tip.hidden = true;
        return;
      }
      tip.replaceChildren();
      const head = document.createElement("div");
      head.className = "chart-tooltip-time";
      head.textContent = content.time;
      tip.append(head);
      for (const r of content.rows) {
        const row = document.createElement("div");
        const sw = document.createElement("span");
        sw.className = "swatch";
        sw.style.background = `var(${r.color})`;
        sw.style.borderColor = `var(${r.color})`;
        row.append(sw, ` ${r.label}: `);
        const b = document.createElement("strong");
        b.textContent = r.value;
        row.append(b);
        tip.append(row);
      }
      tip.hidden = false;
      // Beside the cursor, flipped to its left near the right edge.
      const w = tip.offsetWidth;
      const x = left + 14 + w > u.over.clientWidth ? Math.max(0, left - 14 - w) : left + 14;
      tip.style.transform = `translate(${x}px, ${Math.max(0, top - tip.offsetHeight - 8)}px)`;
    };
    const opts: uPlot.Options = {
      width: Math.max(el.clientWidth, 200),
      height,
      legend: { show: false },
      cursor: { drag: { x: zoomable, y: false, setScale: false } },
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
      hooks: {
        init: [(u) => void u.over.append(tip)],
        setCursor: [showTooltip],
        setSelect: [
          (u) => {
            const { left, width } = u.select;
            if (width < 4) return;
            const from = u.posToVal(left, "x");
            const to = u.posToVal(left + width, "x");
            u.setSelect({ left: 0, top: 0, width: 0, height: 0 }, false);
            callbacks.current.onZoom?.(new Date(from * 1000), new Date(to * 1000));
          },
        ],
        ...(highlight
          ? {
              drawClear: [
                (u: uPlot) => {
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
          : {}),
      },
    };
    const plot = new uPlot(opts, [times, ...series.map((s) => s.values)], el);
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(el.clientWidth, 200), height }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [times, series, band, highlight, xRange, height, formatValue, zoomable]);

  return (
    <div className="time-chart">
      <div
        ref={ref}
        className={`time-chart-canvas${zoomable ? " zoomable" : ""}`}
        style={{ minHeight: height }}
        role="img"
        aria-label={label}
        data-testid={testId}
        title={zoomable ? "Drag across the chart to zoom into that time range" : undefined}
      />
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
