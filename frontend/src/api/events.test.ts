import { describe, expect, it } from "vitest";
import { orNull, timelineCounts, timelineVariables } from "./events";

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
