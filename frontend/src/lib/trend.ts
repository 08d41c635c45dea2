// How a figure moved against the previous period, and whether that is good:
// more events is neither, more failures is bad, a higher success rate is
// good. The words carry the meaning; colour only repeats it.

/** Which way is better for a figure. */
export type Polarity = "up-good" | "up-bad" | "neutral";

export type Direction = "up" | "down" | "flat" | "none";
export type Tone = "good" | "bad" | "neutral";

export interface Trend {
  direction: Direction;
  tone: Tone;
  /** "+12 %", "−0.4 pts", "new", "no change", "—". */
  text: string;
  /** A sentence for screen readers: "up 12 % on the previous period". */
  description: string;
}

const minus = "\u2212";

function tone(direction: Direction, polarity: Polarity): Tone {
  if (polarity === "neutral" || direction === "flat" || direction === "none") return "neutral";
  const up = direction === "up";
  return up === (polarity === "up-good") ? "good" : "bad";
}

function signed(n: number, digits: number): string {
  const abs = Math.abs(n).toFixed(digits);
  return n > 0 ? `+${abs}` : n < 0 ? `${minus}${abs}` : abs;
}

/** A count against the previous period: its relative change (null when the previous was 0). */
export function figureTrend(f: { value: number; previous: number; delta: number; change?: number | null }, polarity: Polarity): Trend {
  if (f.delta === 0) return { direction: "flat", tone: "neutral", text: "no change", description: "the same as the previous period" };
  const direction: Direction = f.delta > 0 ? "up" : "down";
  if (f.change === null || f.change === undefined || f.previous === 0) {
    return { direction, tone: tone(direction, polarity), text: "new", description: "none in the previous period" };
  }
  const pct = f.change * 100;
  const digits = Math.abs(pct) < 10 ? 1 : 0;
  return {
    direction,
    tone: tone(direction, polarity),
    text: `${signed(pct, digits)} %`,
    description: `${direction} ${Math.abs(pct).toFixed(digits)} % on the previous period`,
  };
}

/**
 * A ratio or latency against the previous period. Null on either side means
 * nothing was measured there: no trend. `unit` formats the difference:
 * "pts" for shares (0–1) shown as percentage points, "points" for scores.
 */
export function measureTrend(
  m: { value?: number | null; previous?: number | null; delta?: number | null },
  polarity: Polarity,
  unit: "pts" | "points" | "ms",
): Trend {
  if (m.value === null || m.value === undefined || m.previous === null || m.previous === undefined || m.delta === null || m.delta === undefined) {
    return { direction: "none", tone: "neutral", text: "—", description: "nothing to compare with in the previous period" };
  }
  const d = unit === "pts" ? m.delta * 100 : m.delta;
  const digits = Math.abs(d) < 10 ? 1 : 0;
  if (Number(Math.abs(d).toFixed(digits)) === 0) {
    return { direction: "flat", tone: "neutral", text: "no change", description: "the same as the previous period" };
  }
  const direction: Direction = d > 0 ? "up" : "down";
  // Latencies of a second or more read better in seconds.
  const [amount, shownUnit, shownDigits] = unit === "ms" && Math.abs(d) >= 1000 ? [d / 1000, "s", 2] : [d, unit, digits];
  const words = unit === "pts" ? "percentage points" : shownUnit === "s" ? "seconds" : shownUnit;
  return {
    direction,
    tone: tone(direction, polarity),
    text: `${signed(amount, shownDigits)} ${shownUnit}`,
    description: `${direction} ${Math.abs(amount).toFixed(shownDigits)} ${words} on the previous period`,
  };
}

/** The arrow for a direction. */
export function arrow(direction: Direction): string {
  switch (direction) {
    case "up":
      return "▲";
    case "down":
      return "▼";
    case "flat":
      return "▬";
    default:
      return "";
  }
}
