// The feed's health score from the latest reconciliation: its parts and
// its history.
import { useEffect, useRef } from "react";
import { Link } from "react-router";
import uPlot from "uplot";
import "uplot/dist/uPlot.min.css";
import type { ReconciliationOverviewQuery } from "../../gql/graphql";
import { formatNumber, formatPercent, formatScore, formatTime } from "../../lib/format";

type Health = ReconciliationOverviewQuery["health"];

const componentLabels: Record<string, string> = {
  events_complete: "Events complete (nothing missing at Dwolla)",
  deliveries_succeeding: "Deliveries succeeding",
  subscription_active: "Webhook subscription active",
  processing: "Processing (not stuck or dead-lettered)",
  freshness: "Freshness (queue wait)",
  journeys_consistent: "Journeys consistent with their events",
};

export function humanize(name: string): string {
  return componentLabels[name] ?? name.replaceAll("_", " ");
}

export function scoreClass(score: number | null | undefined): string {
  if (score === null || score === undefined) return "score-none";
  if (score >= 90) return "score-good";
  if (score >= 70) return "score-fair";
  return "score-bad";
}

function HistoryChart({ points }: { points: Health["history"] }) {
  const ref = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = ref.current;
    if (!el || points.length < 2) return;
    const style = getComputedStyle(el);
    const accent = style.getPropertyValue("--accent").trim() || "#2563eb";
    const axis = style.getPropertyValue("--muted").trim() || "#6b7280";
    const grid = style.getPropertyValue("--border").trim() || "#e5e7eb";
    const plot = new uPlot(
      {
        width: Math.max(el.clientWidth, 200),
        height: 120,
        legend: { show: false },
        scales: { y: { range: [0, 100] } },
        axes: [
          { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
          { stroke: axis, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid }, size: 40 },
        ],
        series: [{}, { label: "Health", stroke: accent, width: 2, points: { show: points.length < 30 } }],
      },
      [points.map((p) => new Date(p.at).getTime() / 1000), points.map((p) => p.score)],
      el,
    );
    const resize = new ResizeObserver(() => plot.setSize({ width: Math.max(el.clientWidth, 200), height: 120 }));
    resize.observe(el);
    return () => {
      resize.disconnect();
      plot.destroy();
    };
  }, [points]);
  if (points.length < 2) return null;
  const first = points[0];
  const last = points[points.length - 1];
  return (
    <figure className="health-history">
      <div
        ref={ref}
        role="img"
        aria-label={`Health score over the last ${points.length} reconciliations, from ${formatScore(first?.score)} to ${formatScore(last?.score)}.`}
      />
    </figure>
  );
}

export function HealthPanel({ health }: { health: Health }) {
  return (
    <section className="card health" aria-labelledby="health-title" data-testid="health">
      <h2 id="health-title">Feed health</h2>
      {health.score === null || health.score === undefined ? (
        <p className="muted">No reconciliation has run yet, so there is no score. Run one below (admins), or wait for the hourly schedule.</p>
      ) : (
        <div className="health-head">
          <div className={`health-score ${scoreClass(health.score)}`} data-testid="health-score">
            {formatScore(health.score)}
            <span className="muted small"> / 100</span>
          </div>
          <p className="muted small">
            From the reconciliation of {formatTime(health.run?.finishedAt ?? health.run?.startedAt)}. Parts that cannot be measured (for
            example without Dwolla credentials) drop out and the others are re-weighted.
          </p>
        </div>
      )}
      {health.components.length > 0 && (
        <table className="data-table compact">
          <thead>
            <tr>
              <th scope="col">Part</th>
              <th scope="col">Weight</th>
              <th scope="col">Score</th>
              <th scope="col">Note</th>
            </tr>
          </thead>
          <tbody>
            {health.components.map((c) => (
              <tr key={c.name} className={c.available ? "" : "muted"} data-testid="health-component">
                <th scope="row">{humanize(c.name)}</th>
                <td className="num">{c.available ? `${c.weight.toFixed(0)} %` : "—"}</td>
                <td className="num">{c.available ? formatPercent(c.score) : "not measured"}</td>
                <td>{c.note}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      <HistoryChart points={health.history} />
      {health.openFindings.length > 0 && (
        <p>
          Open findings:{" "}
          {health.openFindings.map((f) => (
            <Link key={f.kind} className="badge warn" to={`?kind=${f.kind}`}>
              {f.kind.replaceAll("_", " ")}: {formatNumber(f.count)}
            </Link>
          ))}
        </p>
      )}
    </section>
  );
}
