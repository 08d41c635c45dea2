import { describe, expect, it } from "vitest";
import { stackSeries, timelineSummary } from "./EventTimeline";

const buckets = [
  { from: new Date("2026-11-29T09:00:00Z"), to: new Date("2026-11-29T10:00:00Z"), count: 10 },
  { from: new Date("2026-11-29T10:00:00Z"), to: new Date("2026-11-29T11:00:00Z"), count: 4 },
];

describe("event timeline", () => {
  it("draws plain bars without topics", () => {
    expect(stackSeries(buckets, [])).toEqual([{ label: "Events", values: [10, 4], color: "--accent", kind: "bars" }]);
  });

  it("stacks the busiest topics under the rest", () => {
    const topics = ["a", "b", "c", "d", "e", "f"].map((t, i) => ({ topic: t, total: 6 - i, counts: [1, i === 0 ? 1 : 0] }));
    const series = stackSeries(buckets, topics);
    expect(series.map((s) => s.label)).toEqual(["other topics", "e", "d", "c", "b", "a"]);
    expect(series[0]?.values).toEqual([10, 4]);
    expect(series[1]?.values).toEqual([5, 1]);
    expect(series[5]?.values).toEqual([1, 1]);
    // Tooltips give each topic's own count, and "other" what the named ones leave.
    expect(series[1]?.tooltipValues).toEqual([1, 0]);
    expect(series[5]?.tooltipValues).toEqual([1, 1]);
    expect(series[0]?.tooltipValues).toEqual([5, 3]);
  });

  it("summarises the busiest interval", () => {
    expect(timelineSummary(buckets)).toMatch(/^14 events; the busiest interval/);
    expect(timelineSummary([])).toBe("No events in this range.");
  });
});
