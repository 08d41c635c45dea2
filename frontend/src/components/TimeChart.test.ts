import { describe, expect, it } from "vitest";
import { tooltipContent, type ChartSeries } from "./TimeChart";

describe("chart tooltip", () => {
  const times = [1_700_000_000, 1_700_000_060];
  const series: ChartSeries[] = [
    { label: "events", values: [3, 5], color: "--accent" },
    { label: "stacked", values: [10, 12], tooltipValues: [7, 7], color: "--chart-2" },
    { label: "band edge", values: [1, 1], color: "--ok", hideInLegend: true },
    { label: "gap", values: [null, 2], color: "--bad" },
  ];
  const perMinute = (v: number) => `${v} per minute`;

  it("shows the time and each legend series' value with its unit", () => {
    const c = tooltipContent(0, times, series, perMinute, (i) => `minute ${i}`);
    expect(c).toEqual({
      time: "minute 0",
      rows: [
        { label: "events", value: "3 per minute", color: "--accent" },
        { label: "stacked", value: "7 per minute", color: "--chart-2" },
      ],
    });
  });

  it("skips gaps and hidden series, and defaults to the point's time", () => {
    const c = tooltipContent(1, times, series, perMinute);
    expect(c?.rows.map((r) => r.label)).toEqual(["events", "stacked", "gap"]);
    expect(c?.time).toBe(new Date(1_700_000_060_000).toLocaleString());
    expect(tooltipContent(5, times, series, perMinute)).toBeNull();
  });
});
