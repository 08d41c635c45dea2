import { describe, expect, it } from "vitest";
import { prependBounded, pruneArrivals, ratePerSecond } from "./liveBuffer";

describe("live buffer", () => {
  it("puts the newest on top and keeps at most max", () => {
    expect(prependBounded([3, 2, 1], [4, 5], 4)).toEqual([5, 4, 3, 2]);
    expect(prependBounded([], [1, 2, 3, 4, 5], 2)).toEqual([5, 4]);
    expect(prependBounded([1], [], 0)).toEqual([]);
  });

  it("prunes arrivals older than the window", () => {
    expect(pruneArrivals([1000, 2000, 9000], 11_000, 10_000)).toEqual([2000, 9000]);
  });

  it("computes events per second over the window", () => {
    const arrivals = Array.from({ length: 50 }, (_, i) => 100_200 + i * 200); // 5/s for 10 s
    expect(ratePerSecond(arrivals, 110_000, 10_000, 0)).toBeCloseTo(5, 5);
    expect(ratePerSecond([], 110_000, 10_000, 0)).toBe(0);
  });

  it("does not understate the rate while the stream is young", () => {
    // 4 events in the first 2 seconds: 2/s, not 0.4/s.
    expect(ratePerSecond([500, 1000, 1500, 2000], 2000, 10_000, 0)).toBe(2);
  });
});
