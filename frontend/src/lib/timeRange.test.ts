import { describe, expect, it } from "vitest";
import { defaultRange, describeTimeRange, parseTimeRange, resolveTimeRange, splitRange, writeTimeRange } from "./timeRange";

describe("time range in the URL", () => {
  it("reads presets and falls back to the default for unknown values", () => {
    expect(parseTimeRange(new URLSearchParams("range=7d"))).toEqual({ kind: "preset", key: "7d" });
    expect(parseTimeRange(new URLSearchParams("range=nonsense"))).toEqual(defaultRange);
    expect(parseTimeRange(new URLSearchParams(""))).toEqual(defaultRange);
  });

  it("reads custom bounds, either of which may be open", () => {
    const r = parseTimeRange(new URLSearchParams("from=2026-01-02T03:04:05.000Z"));
    expect(r).toEqual({ kind: "custom", from: new Date("2026-01-02T03:04:05.000Z"), to: null });
    expect(parseTimeRange(new URLSearchParams("from=garbage&range=1h"))).toEqual({ kind: "preset", key: "1h" });
  });

  it("writes one form and removes the other, keeping unrelated parameters", () => {
    const custom = writeTimeRange(new URLSearchParams("range=1h&topic=x"), {
      kind: "custom",
      from: new Date("2026-01-01T00:00:00Z"),
      to: new Date("2026-01-02T00:00:00Z"),
    });
    expect(custom.toString()).toBe("topic=x&from=2026-01-01T00%3A00%3A00.000Z&to=2026-01-02T00%3A00%3A00.000Z");
    const preset = writeTimeRange(custom, { kind: "preset", key: "30d" });
    expect(preset.toString()).toBe("topic=x&range=30d");
    expect(writeTimeRange(preset, defaultRange).toString()).toBe("topic=x");
  });

  it("round-trips through the URL", () => {
    const r = { kind: "custom" as const, from: new Date("2026-03-01T10:00:00Z"), to: null };
    expect(parseTimeRange(writeTimeRange(new URLSearchParams(), r))).toEqual(r);
  });

  it("resolves presets against now", () => {
    const now = new Date("2026-06-01T12:00:00Z");
    expect(resolveTimeRange({ kind: "preset", key: "1h" }, now)).toEqual({ from: new Date("2026-06-01T11:00:00Z"), to: null });
    expect(resolveTimeRange({ kind: "preset", key: "all" }, now)).toEqual({ from: null, to: null });
  });

  it("describes ranges", () => {
    expect(describeTimeRange({ kind: "preset", key: "24h" })).toBe("Last 24 hours");
    expect(describeTimeRange({ kind: "custom", from: null, to: null })).toBe("All time");
  });

  it("splits a range into contiguous buckets", () => {
    const b = splitRange(new Date(0), new Date(10_000), 4);
    expect(b).toHaveLength(4);
    expect(b[0]?.from.getTime()).toBe(0);
    expect(b[3]?.to.getTime()).toBe(10_000);
    for (let i = 1; i < b.length; i++) expect(b[i]?.from.getTime()).toBe(b[i - 1]?.to.getTime());
    expect(splitRange(new Date(5), new Date(5), 4)).toEqual([]);
  });
});
