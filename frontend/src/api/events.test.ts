import { describe, expect, it } from "vitest";
import { orNull, statsTimeline, timelineCounts, timelineVariables } from "./events";

describe("timeline helpers", () => {
  it("narrows the log's filter to each bucket without an empty predicate", () => {
    const vars = timelineVariables({ topic: "t" }, [
      { from: new Date(0), to: new Date(1000) },
      { from: new Date(1000), to: new Date(2000) },
    ]);
    expect(vars).toEqual({
      w0: { topic: "t", receivedAtGTE: "1970-01-01T00:00:00.000Z", receivedAtLT: "1970-01-01T00:00:01.000Z" },
      w1: { topic: "t", receivedAtGTE: "1970-01-01T00:00:01.000Z", receivedAtLT: "1970-01-01T00:00:02.000Z" },
    });
  });

  it("reads counts in bucket order, zero when missing", () => {
    expect(timelineCounts({ b0: { totalCount: 3 }, b2: { totalCount: 1 } }, 3)).toEqual([3, 0, 1]);
  });

  it("sends no filter as null", () => {
    expect(orNull({})).toBeNull();
    expect(orNull({ topic: "x" })).toEqual({ topic: "x" });
  });
});

describe("rollup timelines", () => {
  it("turn eventStats into buckets and topics, busiest first, the last cut at the window's end", () => {
    const { buckets, topics } = statsTimeline({
      granularity: "hour",
      to: "2026-11-29T10:30:00Z",
      series: [
        { time: "2026-11-29T09:00:00Z", events: 4 },
        { time: "2026-11-29T10:00:00Z", events: 2 },
      ],
      topics: [
        { topic: "b", events: { value: 1 }, series: [1, 0] },
        { topic: "a", events: { value: 5 }, series: [3, 2] },
        { topic: "gone", events: { value: 0 }, series: [0, 0] },
      ],
    });
    expect(buckets.map((b) => [b.from.toISOString(), b.to.toISOString(), b.count])).toEqual([
      ["2026-11-29T09:00:00.000Z", "2026-11-29T10:00:00.000Z", 4],
      ["2026-11-29T10:00:00.000Z", "2026-11-29T10:30:00.000Z", 2],
    ]);
    expect(topics.map((t) => t.topic)).toEqual(["a", "b"]);
  });
});
