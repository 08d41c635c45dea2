// The dashboard's time range lives in the URL (?range=24h, or ?from=…&to=…)
// so that every view can be shared as a link.

/** A named range relative to now. */
export interface PresetRange {
  kind: "preset";
  key: PresetKey;
}

/** An absolute range chosen by hand; either end may be open. */
export interface CustomRange {
  kind: "custom";
  from: Date | null;
  to: Date | null;
}

export type TimeRange = PresetRange | CustomRange;

export const presets = [
  { key: "15m", label: "Last 15 minutes", ms: 15 * 60_000 },
  { key: "1h", label: "Last hour", ms: 60 * 60_000 },
  { key: "6h", label: "Last 6 hours", ms: 6 * 60 * 60_000 },
  { key: "24h", label: "Last 24 hours", ms: 24 * 60 * 60_000 },
  { key: "7d", label: "Last 7 days", ms: 7 * 24 * 60 * 60_000 },
  { key: "30d", label: "Last 30 days", ms: 30 * 24 * 60 * 60_000 },
  { key: "all", label: "All time", ms: null },
] as const;

export type PresetKey = (typeof presets)[number]["key"];

/** The preset used when the URL names no range. */
export const defaultPresetKey: PresetKey = "24h";

export const defaultRange: TimeRange = { kind: "preset", key: defaultPresetKey };

function isPresetKey(v: string): v is PresetKey {
  return presets.some((p) => p.key === v);
}

function parseDate(v: string | null): Date | null {
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** Reads the range from URL search parameters; unknown values fall back to the default. */
export function parseTimeRange(params: URLSearchParams): TimeRange {
  const from = parseDate(params.get("from"));
  const to = parseDate(params.get("to"));
  if (from || to) return { kind: "custom", from, to };
  const key = params.get("range");
  if (key && isPresetKey(key)) return { kind: "preset", key };
  return defaultRange;
}

/** Writes the range into a copy of params, removing the other form. */
export function writeTimeRange(params: URLSearchParams, range: TimeRange): URLSearchParams {
  const next = new URLSearchParams(params);
  next.delete("range");
  next.delete("from");
  next.delete("to");
  if (range.kind === "preset") {
    if (range.key !== defaultPresetKey) next.set("range", range.key);
  } else {
    if (range.from) next.set("from", range.from.toISOString());
    if (range.to) next.set("to", range.to.toISOString());
  }
  return next;
}

/** Resolves a range to absolute bounds at `now`; null means open. */
export function resolveTimeRange(range: TimeRange, now: Date): { from: Date | null; to: Date | null } {
  if (range.kind === "custom") return { from: range.from, to: range.to };
  const preset = presets.find((p) => p.key === range.key);
  if (!preset || preset.ms === null) return { from: null, to: null };
  return { from: new Date(now.getTime() - preset.ms), to: null };
}

/** A short description of the range for headings and buttons. */
export function describeTimeRange(range: TimeRange): string {
  if (range.kind === "preset") return presets.find((p) => p.key === range.key)?.label ?? range.key;
  const fmt = (d: Date) => d.toLocaleString();
  if (range.from && range.to) return `${fmt(range.from)} – ${fmt(range.to)}`;
  if (range.from) return `Since ${fmt(range.from)}`;
  if (range.to) return `Until ${fmt(range.to)}`;
  return "All time";
}

/**
 * Splits [from, to) into n equal buckets. Used for the event timeline,
 * which counts each bucket on the server.
 */
export function splitRange(from: Date, to: Date, n: number): { from: Date; to: Date }[] {
  const start = from.getTime();
  const span = to.getTime() - start;
  if (n <= 0 || span <= 0) return [];
  const out: { from: Date; to: Date }[] = [];
  for (let i = 0; i < n; i++) {
    out.push({ from: new Date(start + Math.round((span * i) / n)), to: new Date(start + Math.round((span * (i + 1)) / n)) });
  }
  return out;
}

/** The length of one point of a server series: minute, hour or day. */
export function granularityMs(granularity: string): number {
  switch (granularity) {
    case "minute":
      return 60_000;
    case "hour":
      return 3_600_000;
    default:
      return 86_400_000;
  }
}
