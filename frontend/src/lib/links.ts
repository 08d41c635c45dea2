// Where an alert or an anomaly leads: the filtered events, deliveries,
// journeys or pages behind its figure, and thresholds read in their unit.
export interface Target {
  label: string;
  /** A dashboard URL (path and query). */
  to: string;
}

function query(path: string, params: Record<string, string>): string {
  const s = new URLSearchParams(params).toString();
  return s ? `${path}?${s}` : path;
}

/** The pages behind an alert rule's condition. */
export function alertTargets(condition: string | null | undefined, params?: Record<string, unknown> | null): Target[] {
  switch (condition) {
    case "dead_letters":
      return [{ label: "The dead-lettered events", to: query("/events", { state: "failed", range: "all" }) }];
    case "processing_error_rate":
      return [{ label: "Events that failed processing", to: query("/events", { state: "failed", range: "1h" }) }];
    case "queue_age":
      return [
        { label: "The queued events", to: query("/events", { state: "queued", range: "all" }) },
        { label: "The pipeline, live", to: "/monitor" },
      ];
    case "stuck_journeys": {
      const definition = typeof params?.definition === "string" ? params.definition : "";
      return [{ label: "The stuck journeys", to: query("/journeys", { status: "stuck", range: "all", ...(definition ? { definition } : {}) }) }];
    }
    case "anomaly": {
      const type = typeof params?.type === "string" ? params.type : "";
      return [{ label: "The open anomalies", to: query("/alerts", { anomalies: "open", ...(type ? { type } : {}) }) }];
    }
    case "breaker_open":
      return [{ label: "The pipeline, live", to: "/monitor" }];
    case "subscription_paused":
    case "sync_failing":
    case "reconciliation_failing":
      return [{ label: "Reconciliation and the Dwolla subscription", to: "/reconciliation" }];
    case "health_score":
      return [
        { label: "The feed's health", to: "/reconciliation" },
        { label: "Its open findings", to: query("/reconciliation", { findings: "open" }) },
      ];
    default:
      return [];
  }
}

/** A threshold in its condition's unit (percent, seconds, count or score). */
export function formatThreshold(unit: string | null | undefined, v: number | null | undefined): string {
  if (v === null || v === undefined) return "—";
  switch (unit) {
    case "percent":
      return `${+v.toFixed(2)} %`;
    case "seconds":
      return v >= 120 ? `${+v.toFixed(0)} s (${+(v / 60).toFixed(1)} min)` : `${+v.toFixed(1)} s`;
    case "score":
      return `${+v.toFixed(1)} / 100`;
    case "count":
      return `${+v.toFixed(0)}`;
    default:
      return String(v);
  }
}

export interface AnomalyLike {
  type: string;
  subject?: string | null;
  windowStart: string;
  windowEnd: string;
}

/** The events, deliveries or journeys behind an anomaly, over its window. */
export function anomalyTargets(a: AnomalyLike): Target[] {
  const window = { from: a.windowStart, to: a.windowEnd };
  const family = a.subject && a.subject !== "all" ? a.subject : null;
  switch (a.type) {
    case "volume_spike":
    case "volume_drop":
    case "silence":
    case "failure_rate":
      return [{ label: family ? `Events received in the window (${family} among them)` : "Events received in the window", to: query("/events", window) }];
    case "duplicate_rate":
      return [{ label: "Duplicate deliveries in the window", to: query("/events/deliveries", { outcome: "duplicate", ...window }) }];
    case "signature_failures":
      return [{ label: "Deliveries with a bad signature in the window", to: query("/events/deliveries", { outcome: "bad_signature", ...window }) }];
    case "processing_errors":
      return [{ label: "Events that failed processing", to: query("/events", { state: "failed", ...window }) }];
    case "delivery_lag":
      return [{ label: "Events received in the window", to: query("/events", window) }];
    case "stuck_journeys":
      return [{ label: "The stuck journeys", to: query("/journeys", { status: "stuck", range: "all" }) }];
    default:
      return [{ label: "Events in the window", to: query("/events", window) }];
  }
}
