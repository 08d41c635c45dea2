import { describe, expect, it } from "vitest";
import { anomalyFixture } from "../../test/fixtures";
import { axisValue, chartData } from "./AnomalyChart";


const t = (iso: string) => new Date(iso).getTime();

describe("anomaly chart", () => {
  it("draws the measured series, and observed and expected over the window only", () => {
    const points = ["10:03", "10:05", "10:10"].map((m, i) => ({ time: t(`2026-11-29T${m}:00Z`), value: i }));
    const d = chartData(anomalyFixture, points, "transfer events/min");
    expect(d.series.map((s) => s.label)).toEqual(["transfer events/min", "observed in the window", "expected", "expected high", "expected low"]);
    expect(d.series[1]?.values).toEqual([null, 27.4, null]);
    expect(d.series[2]?.values).toEqual([null, 0.4, null]);
    expect(d.band).toEqual({ upper: 3, lower: 4, color: "--ok" });
    expect(d.highlight).toEqual({ from: t("2026-11-29T10:04:00Z") / 1000, to: t("2026-11-29T10:09:00Z") / 1000 });
  });

  it("spans the window alone when no series is kept, and drops an unbounded band", () => {
    const d = chartData({ ...anomalyFixture, type: "stuck_journeys", expectedHigh: null }, [], "");
    expect(d.times).toEqual([t("2026-11-29T10:04:00Z") / 1000, t("2026-11-29T10:09:00Z") / 1000]);
    expect(d.series.map((s) => s.label)).toEqual(["observed in the window", "expected"]);
    expect(d.band).toBeNull();
  });

  it("labels the axis briefly", () => {
    expect(axisValue("failure_rate", 0.125)).toBe("12.5 %");
    expect(axisValue("volume_spike", 3.333)).toBe("3.33");
  });
});
