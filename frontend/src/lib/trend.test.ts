import { describe, expect, it } from "vitest";
import { arrow, figureTrend, measureTrend } from "./trend";

describe("figure trends", () => {
  it("say how much a count moved, coloured by what is good", () => {
    const up = { value: 120, previous: 100, delta: 20, change: 0.2 };
    expect(figureTrend(up, "neutral")).toMatchObject({ direction: "up", tone: "neutral", text: "+20 %" });
    expect(figureTrend(up, "up-bad")).toMatchObject({ tone: "bad", description: "up 20 % on the previous period" });
    expect(figureTrend({ value: 97, previous: 100, delta: -3, change: -0.03 }, "up-bad")).toMatchObject({ direction: "down", tone: "good", text: "−3.0 %" });
  });

  it("call a count from nothing new, and no movement no change", () => {
    expect(figureTrend({ value: 5, previous: 0, delta: 5, change: null }, "up-bad")).toMatchObject({ text: "new", tone: "bad" });
    expect(figureTrend({ value: 5, previous: 5, delta: 0, change: 0 }, "up-bad")).toMatchObject({ direction: "flat", tone: "neutral", text: "no change" });
  });
});

describe("measure trends", () => {
  it("show shares in percentage points and latencies in ms or s", () => {
    expect(measureTrend({ value: 0.05, previous: 0.02, delta: 0.03 }, "up-bad", "pts")).toMatchObject({ text: "+3.0 pts", tone: "bad" });
    expect(measureTrend({ value: 0.99, previous: 0.97, delta: 0.02 }, "up-good", "pts")).toMatchObject({ tone: "good" });
    expect(measureTrend({ value: 12, previous: 20, delta: -8 }, "up-bad", "ms")).toMatchObject({ text: "−8.0 ms", tone: "good" });
    expect(measureTrend({ value: 900, previous: 5000, delta: -4100 }, "up-bad", "ms")).toMatchObject({ text: "−4.10 s" });
    expect(measureTrend({ value: 91, previous: 88, delta: 3 }, "up-good", "points")).toMatchObject({ text: "+3.0 points", tone: "good" });
  });

  it("have no trend where a side measured nothing", () => {
    expect(measureTrend({ value: 0.5, previous: null, delta: null }, "up-bad", "pts")).toMatchObject({ direction: "none", text: "—" });
    expect(measureTrend({ value: 10, previous: 10, delta: 0.01 }, "up-bad", "ms")).toMatchObject({ direction: "flat" });
    expect(arrow("none")).toBe("");
  });
});
