// Anomalies: the list's filters in the URL, each type's unit, and which
// measured series (if any) the API keeps to chart an anomaly against its
// expected range. A series is only drawn when it measures what the
// detector measured, or says plainly how it differs.
import type { AnomalySeverity, AnomalyStatus, AnomalyWhereInput } from "../gql/graphql";
import { formatPercent } from "./format";
import { granularityMs } from "./timeRange";

/** The detectors' types (docs/anomalies.md). */
export const anomalyTypes = [
  "volume_spike",
  "volume_drop",
  "silence",
  "failure_rate",
  "delivery_lag",
  "duplicate_rate",
  "signature_failures",
  "processing_errors",
  "stuck_journeys",
] as const;

export const anomalySeverities: readonly AnomalySeverity[] = ["critical", "warning", "info"];

export type AnomalyStatusFilter = AnomalyStatus | "active" | "all";

export interface AnomalyFilters {
  /** active (open or acknowledged, the default), open, acknowledged, resolved or all. */
  status: AnomalyStatusFilter;
  severity: AnomalySeverity | "";
  type: string;
}

const statusValues: readonly AnomalyStatusFilter[] = ["active", "open", "acknowledged", "resolved", "all"];

export function parseAnomalyFilters(params: URLSearchParams): AnomalyFilters {
  const status = params.get("anomalies") ?? "";
  const severity = params.get("severity") ?? "";
  const type = params.get("type") ?? "";
  return {
    status: (statusValues as readonly string[]).includes(status) ? (status as AnomalyStatusFilter) : "active",
    severity: (anomalySeverities as readonly string[]).includes(severity) ? (severity as AnomalySeverity) : "",
    type: (anomalyTypes as readonly string[]).includes(type) ? type : "",
  };
}

/** Whether an anomaly in this status belongs in a list filtered by status. */
export function anomalyStatusMatches(filter: AnomalyStatusFilter, status: string): boolean {
  if (filter === "all") return true;
  if (filter === "active") return status === "open" || status === "acknowledged";
  return status === filter;
}

export function writeAnomalyFilters(params: URLSearchParams, f: AnomalyFilters): URLSearchParams {
  const next = new URLSearchParams(params);
  if (f.status === "active") next.delete("anomalies");
  else next.set("anomalies", f.status);
  for (const [k, v] of [
    ["severity", f.severity],
    ["type", f.type],
  ] as const) {
    if (v) next.set(k, v);
    else next.delete(k);
  }
  return next;
}

export function anomalyWhere(f: AnomalyFilters): AnomalyWhereInput {
  const where: AnomalyWhereInput = {};
  if (f.status === "active") where.statusIn = ["open", "acknowledged"];
  else if (f.status !== "all") where.status = f.status;
  if (f.severity) where.severity = f.severity;
  if (f.type) where.type = f.type;
  return where;
}

/** What a type's observed and expected values are measured in. */
export function anomalyUnit(type: string): "events/min" | "share" | "rejections/min" | "seconds" | "journeys" | "" {
  switch (type) {
    case "volume_spike":
    case "volume_drop":
    case "silence":
      return "events/min";
    case "failure_rate":
    case "duplicate_rate":
    case "processing_errors":
      return "share";
    case "signature_failures":
      return "rejections/min";
    case "delivery_lag":
      return "seconds";
    case "stuck_journeys":
      return "journeys";
    default:
      return "";
  }
}

/** An observed or expected value in its type's unit. */
export function formatAnomalyValue(type: string, v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "—";
  switch (anomalyUnit(type)) {
    case "events/min":
      return `${v.toFixed(v < 10 ? 2 : 1)}/min`;
    case "rejections/min":
      return `${v.toFixed(v < 10 ? 2 : 1)} rejections/min`;
    case "share":
      return formatPercent(v);
    case "seconds":
      return `${v.toFixed(v < 10 ? 1 : 0)} s (p95)`;
    case "journeys":
      return `${v.toFixed(0)} newly stuck`;
    default:
      return v.toFixed(2);
  }
}

export interface AnomalyWindow {
  type: string;
  subject?: string | null;
  windowStart: string;
  windowEnd: string;
}

/** Where the chart's measured series comes from, and what it shows. */
export interface ContextPlan {
  /** eventStats (per-family events), overview (deliveries and processing) or none. */
  source: "eventStats" | "overview" | "none";
  from: Date;
  to: Date;
  granularity: "minute" | "hour";
  /** The topic family, for eventStats; null for every family. */
  family: string | null;
  /** The measured series' name on the chart. */
  seriesLabel: string;
  /** How the series relates to what the detector measured. */
  note: string;
}

function familyOf(subject: string | null | undefined): string | null {
  return subject && subject !== "all" ? subject : null;
}

/**
 * The chart's plan: the window with as much again on each side (at least
 * half an hour), never past now; per minute up to six hours, else per hour.
 */
export function contextPlan(a: AnomalyWindow, now: Date): ContextPlan {
  const ws = new Date(a.windowStart).getTime();
  const we = new Date(a.windowEnd).getTime();
  const pad = Math.max(we - ws, 30 * 60_000);
  const from = new Date(ws - pad);
  const to = new Date(Math.max(Math.min(we + pad, Math.ceil(now.getTime() / 60_000) * 60_000), we));
  const granularity = to.getTime() - from.getTime() <= 6 * 3_600_000 ? "minute" : "hour";
  const family = familyOf(a.subject);
  const base = { from, to, granularity, family } as const;
  const per = granularity === "minute" ? "per minute" : "per hour, averaged per minute";
  switch (a.type) {
    case "volume_spike":
    case "volume_drop":
    case "silence":
      return {
        ...base,
        source: "eventStats",
        seriesLabel: `${family ?? "all"} events/min`,
        note: `Events received of ${family ? `the ${family} family` : "every family"}, ${per} (eventStats), as the detector counts them.`,
      };
    case "failure_rate":
      return {
        ...base,
        source: "eventStats",
        seriesLabel: "failed ÷ finished",
        note: `Failure topics of ${family ? `the ${family} family` : "every family"} ÷ its success and failure topics, ${granularity === "minute" ? "per minute" : "per hour"} (eventStats), the detector's share.`,
      };
    case "duplicate_rate":
      return {
        ...base,
        source: "overview",
        seriesLabel: "duplicates ÷ accepted deliveries",
        note: "Duplicate deliveries ÷ accepted deliveries (overview series). The detector divides by every delivery with a valid signature, which also counts the few rejected for other reasons.",
      };
    case "signature_failures":
      return {
        ...base,
        source: "overview",
        seriesLabel: "rejected deliveries/min",
        note: "Rejected deliveries per minute for every reason (overview series); the detector counts those with a bad or missing signature, usually nearly all of them.",
      };
    case "processing_errors":
      return {
        ...base,
        source: "overview",
        seriesLabel: "failed ÷ attempts",
        note: "Failed processing attempts ÷ all attempts (processed + failed), from the overview series: the detector's share.",
      };
    default:
      return {
        ...base,
        source: "none",
        seriesLabel: "",
        note:
          a.type === "delivery_lag"
            ? "The API keeps no delivery-lag series to draw, only totals: shown are the window's observed p95 lag and its expected range."
            : a.type === "stuck_journeys"
              ? "hooklens keeps no history of stuck journeys to draw: shown are the window's observed count and its expected range."
              : "No series is kept for this type: shown are the window's observed value and its expected range.",
      };
  }
}

export interface ContextPoint {
  /** Start of the point, Unix ms. */
  time: number;
  value: number | null;
}

interface StatsLike {
  series: { time: string; events: number }[];
  topics: { outcome: string; series?: number[] | null }[];
}

interface OverviewPointLike {
  time: string;
  deliveries: number;
  duplicates: number;
  rejected: number;
  processed: number;
  failedAttempts: number;
}

const ratio = (num: number, den: number) => (den > 0 ? num / den : null);

/** The measured values of the plan's series, point by point; [] when there is none (yet). */
export function contextValues(type: string, plan: ContextPlan, stats: StatsLike | null, overview: readonly OverviewPointLike[] | null): ContextPoint[] {
  const minutes = granularityMs(plan.granularity) / 60_000;
  if (plan.source === "eventStats" && stats) {
    if (type === "failure_rate") {
      return stats.series.map((p, i) => {
        let failed = 0;
        let finished = 0;
        for (const t of stats.topics) {
          const n = t.series?.[i] ?? 0;
          if (t.outcome === "failure") {
            failed += n;
            finished += n;
          } else if (t.outcome === "success") finished += n;
        }
        return { time: new Date(p.time).getTime(), value: ratio(failed, finished) };
      });
    }
    return stats.series.map((p) => ({ time: new Date(p.time).getTime(), value: p.events / minutes }));
  }
  if (plan.source === "overview" && overview) {
    return overview.map((p) => {
      const time = new Date(p.time).getTime();
      switch (type) {
        case "duplicate_rate":
          return { time, value: ratio(p.duplicates, p.deliveries) };
        case "signature_failures":
          return { time, value: p.rejected / minutes };
        default:
          return { time, value: ratio(p.failedAttempts, p.processed + p.failedAttempts) };
      }
    });
  }
  return [];
}
