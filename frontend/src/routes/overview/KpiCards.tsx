// The overview's headline figures, each against the previous period of
// equal length. Figures that describe "now" (journeys, anomalies, health)
// say so instead of inventing a trend.
import type { ReactNode } from "react";
import { Link } from "react-router";
import { TrendBadge } from "../../components/TrendBadge";
import type { OverviewPageQuery } from "../../gql/graphql";
import { formatMs, formatNumber, formatPercent, formatScore } from "../../lib/format";
import { figureTrend, measureTrend, type Trend } from "../../lib/trend";
import { scoreClass } from "../reconciliation/HealthPanel";

type Overview = OverviewPageQuery["overview"];
type Health = OverviewPageQuery["health"];
type Latency = Overview["processingLatency"];

export function KpiCard({ name, title, value, trend, children, tone }: { name: string; title: string; value: ReactNode; trend?: Trend; children?: ReactNode; tone?: string }) {
  return (
    <section className={`kpi card${tone ? ` kpi-${tone}` : ""}`} aria-labelledby={`kpi-${name}-title`} data-testid={`kpi-${name}`}>
      <h2 id={`kpi-${name}-title`} className="kpi-title">
        {title}
      </h2>
      <p className="kpi-value" data-testid={`kpi-${name}-value`}>
        {value}
      </p>
      {trend && <TrendBadge trend={trend} testId={`kpi-${name}-trend`} />}
      {children && <div className="kpi-more muted small">{children}</div>}
    </section>
  );
}

function Percentiles({ latency, name }: { latency: Latency; name: string }) {
  const rows = [
    ["p50", latency.p50Ms],
    ["p95", latency.p95Ms],
    ["p99", latency.p99Ms],
  ] as const;
  return (
    <dl className="percentiles">
      {rows.map(([label, m]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd data-testid={`kpi-${name}-${label}`}>{formatMs(m.value)}</dd>
          <dd>
            <TrendBadge trend={measureTrend(m, "up-bad", "ms")} />
          </dd>
        </div>
      ))}
    </dl>
  );
}

export function KpiCards({ overview, health, search }: { overview: Overview; health: Health | null; search: string }) {
  const o = overview;
  const prevScore = health && health.history.length >= 2 ? health.history[health.history.length - 2]?.score : undefined;
  return (
    <div className="kpis" data-testid="kpis">
      <KpiCard name="events" title="Events received" value={formatNumber(o.events.value)} trend={figureTrend(o.events, "neutral")}>
        {o.eventsPerMinute.value.toFixed(o.eventsPerMinute.value < 10 ? 2 : 0)}/min · {formatNumber(o.eventsFromSync.value)} imported ·{" "}
        <Link to={`/events${search}`}>events</Link>
      </KpiCard>
      <KpiCard
        name="success"
        title="Processing success"
        value={formatPercent(o.processingSuccessRate.value)}
        trend={measureTrend(o.processingSuccessRate, "up-good", "pts")}
      >
        {formatNumber(o.processed.value)} processed · {formatNumber(o.waiting.value)} waiting
      </KpiCard>
      <KpiCard
        name="failure"
        title="Processing failures"
        value={formatPercent(o.processingFailureRate.value)}
        trend={measureTrend(o.processingFailureRate, "up-bad", "pts")}
        tone={o.deadLettered.value > 0 ? "bad" : undefined}
      >
        {formatNumber(o.deadLettered.value)} dead-lettered · {formatNumber(o.failedAttempts.value)} failed attempt{o.failedAttempts.value === 1 ? "" : "s"}
      </KpiCard>
      <KpiCard name="deliveries" title="Deliveries" value={formatNumber(o.deliveries.value)} trend={figureTrend(o.deliveries, "neutral")}>
        duplicates {formatPercent(o.duplicateRate.value)} <TrendBadge trend={measureTrend(o.duplicateRate, "up-bad", "pts")} /> · rejected{" "}
        {formatNumber(o.rejectedDeliveries.value)} <TrendBadge trend={figureTrend(o.rejectedDeliveries, "up-bad")} />
      </KpiCard>
      <KpiCard name="latency" title="Processing latency" value={formatMs(o.processingLatency.p95Ms.value)}>
        <Percentiles latency={o.processingLatency} name="latency" />
      </KpiCard>
      <KpiCard name="lag" title="Delivery lag" value={formatMs(o.deliveryLag.p95Ms.value)}>
        <Percentiles latency={o.deliveryLag} name="lag" />
      </KpiCard>
      <KpiCard name="journeys" title="Journeys now" value={formatNumber(o.journeys.active)} tone={o.journeys.stuck > 0 ? "bad" : undefined}>
        active ·{" "}
        <Link to="/journeys?status=stuck&range=all" data-testid="kpi-journeys-stuck">
          {formatNumber(o.journeys.stuck)} stuck
        </Link>{" "}
        (current state: no trend)
      </KpiCard>
      <KpiCard
        name="anomalies"
        title="Open anomalies"
        value={formatNumber(o.anomalies.open + o.anomalies.acknowledged)}
        tone={o.anomalies.critical > 0 ? "bad" : o.anomalies.open > 0 ? "warn" : undefined}
      >
        {formatNumber(o.anomalies.critical)} critical · {formatNumber(o.anomalies.acknowledged)} acknowledged · <Link to="/alerts">anomalies</Link>
      </KpiCard>
      <KpiCard
        name="health"
        title="Feed health"
        value={<span className={scoreClass(health?.score)}>{health?.score === null || health?.score === undefined ? "—" : formatScore(health.score)}</span>}
        trend={
          health?.score !== null && health?.score !== undefined && prevScore !== undefined
            ? measureTrend({ value: health.score, previous: prevScore, delta: health.score - prevScore }, "up-good", "points")
            : undefined
        }
      >
        {health?.score === null || health?.score === undefined ? "No reconciliation has run yet." : "Latest reconciliation, against the one before."}{" "}
        <Link to="/reconciliation">reconciliation</Link>
      </KpiCard>
    </div>
  );
}
