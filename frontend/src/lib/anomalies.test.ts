import { describe, expect, it } from "vitest";
import { anomalyWhere, contextPlan, contextValues, formatAnomalyValue, parseAnomalyFilters, writeAnomalyFilters } from "./anomalies";

describe("anomaly filters", () => {
  it("default to open and acknowledged and round-trip through the URL", () => {
    expect(parseAnomalyFilters(new URLSearchParams())).toEqual({ status: "active", severity: "", type: "" });
    const f = { status: "resolved" as const, severity: "critical" as const, type: "volume_spike" };
    const params = writeAnomalyFilters(new URLSearchParams("status=firing"), f);
    expect(params.get("status")).toBe("firing");
    expect(parseAnomalyFilters(params)).toEqual(f);
    expect(writeAnomalyFilters(params, { status: "active", severity: "", type: "" }).toString()).toBe("status=firing");
    expect(parseAnomalyFilters(new URLSearchParams("type=bogus&severity=meh&anomalies=gone"))).toEqual({ status: "active", severity: "", type: "" });
  });

  it("build the server filter", () => {
    expect(anomalyWhere({ status: "active", severity: "", type: "" })).toEqual({ statusIn: ["open", "acknowledged"] });
    expect(anomalyWhere({ status: "all", severity: "warning", type: "silence" })).toEqual({ severity: "warning", type: "silence" });
    expect(anomalyWhere({ status: "open", severity: "", type: "" })).toEqual({ status: "open" });
  });

  it("format values in each type's unit", () => {
    expect(formatAnomalyValue("volume_spike", 27.4)).toBe("27.4/min");
    expect(formatAnomalyValue("failure_rate", 0.05)).toBe("5.0 %");
    expect(formatAnomalyValue("delivery_lag", 42)).toBe("42 s (p95)");
    expect(formatAnomalyValue("silence", null)).toBe("—");
    expect(formatAnomalyValue("silence", Number.POSITIVE_INFINITY)).toBe("—");
  });
});

describe("anomaly context", () => {
  const now = new Date("2026-11-29T12:00:00Z");
  const spike = { type: "volume_spike", subject: "transfer", windowStart: "2026-11-29T10:04:00Z", windowEnd: "2026-11-29T10:09:00Z" };

  it("reads a family's events around the window, never past now", () => {
    const plan = contextPlan(spike, now);
    expect(plan).toMatchObject({ source: "eventStats", family: "transfer", granularity: "minute" });
    expect(plan.from.toISOString()).toBe("2026-11-29T09:34:00.000Z");
    expect(plan.to.toISOString()).toBe("2026-11-29T10:39:00.000Z");
    expect(contextPlan(spike, new Date("2026-11-29T10:12:30Z")).to.toISOString()).toBe("2026-11-29T10:13:00.000Z");
    expect(contextPlan({ ...spike, subject: "all" }, now).family).toBeNull();
  });

  it("uses hours for long windows and the overview for delivery types", () => {
    const long = { ...spike, type: "failure_rate", windowStart: "2026-11-29T04:00:00Z", windowEnd: "2026-11-29T10:00:00Z" };
    expect(contextPlan(long, now)).toMatchObject({ source: "eventStats", granularity: "hour" });
    expect(contextPlan({ ...spike, type: "duplicate_rate", subject: "all" }, now).source).toBe("overview");
  });

  it("has no series for types the API keeps none of, and says so", () => {
    const plan = contextPlan({ ...spike, type: "delivery_lag", subject: "all" }, now);
    expect(plan.source).toBe("none");
    expect(plan.note).toMatch(/no delivery-lag series/);
    expect(contextValues("delivery_lag", plan, null, null)).toEqual([]);
  });

  it("computes each type's measure from the series", () => {
    const plan = contextPlan(spike, now);
    const stats = {
      series: [
        { time: "2026-11-29T10:00:00Z", events: 6 },
        { time: "2026-11-29T10:01:00Z", events: 0 },
      ],
      topics: [
        { outcome: "success", series: [3, 0] },
        { outcome: "failure", series: [1, 0] },
        { outcome: "", series: [2, 0] },
      ],
    };
    expect(contextValues("volume_spike", plan, stats, null).map((p) => p.value)).toEqual([6, 0]);
    expect(contextValues("failure_rate", plan, stats, null).map((p) => p.value)).toEqual([0.25, null]);
    const hourly = { ...plan, granularity: "hour" as const };
    expect(contextValues("volume_drop", hourly, stats, null).map((p) => p.value)).toEqual([0.1, 0]);
    const overview = [{ time: "2026-11-29T10:00:00Z", deliveries: 50, duplicates: 5, rejected: 3, processed: 45, failedAttempts: 5 }];
    const op = { ...plan, source: "overview" as const };
    expect(contextValues("duplicate_rate", op, null, overview)[0]?.value).toBe(0.1);
    expect(contextValues("signature_failures", op, null, overview)[0]?.value).toBe(3);
    expect(contextValues("processing_errors", op, null, overview)[0]?.value).toBe(0.1);
  });
});
