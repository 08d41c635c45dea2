import { describe, expect, it } from "vitest";
import { formatAge, formatBytes, formatMs, formatRelative, formatScore, formatTime } from "./format";
import { readCookie } from "./cookies";

describe("formatting", () => {
  it("formats durations, sizes and relative times", () => {
    expect(formatMs(0.421)).toBe("0.42 ms");
    expect(formatMs(12.34)).toBe("12.3 ms");
    expect(formatMs(1200)).toBe("1.20 s");
    expect(formatMs(259_200_000)).toBe("3.0 d");
    expect(formatMs(null)).toBe("—");
    expect(formatBytes(512)).toBe("512 B");
    expect(formatBytes(2048)).toBe("2.0 KiB");
    const now = new Date("2026-01-01T12:00:00Z");
    expect(formatRelative("2026-01-01T11:59:30Z", now)).toBe("30 s ago");
    expect(formatRelative("2026-01-01T10:00:00Z", now)).toBe("2 h ago");
    expect(formatRelative("2026-01-03T12:00:00Z", now)).toBe("in 2 d");
    expect(formatTime(null)).toBe("—");
    expect(formatTime("not a date")).toBe("not a date");
  });

  it("reads cookies", () => {
    expect(readCookie("hooklens_csrf", "a=1; hooklens_csrf=abc%3D; b=2")).toBe("abc=");
    expect(readCookie("missing", "a=1")).toBeNull();
  });
});

describe("durations and shares", () => {
  it("picks a readable unit", async () => {
    const { formatSeconds, formatPercent } = await import("./format");
    expect(formatSeconds(45)).toBe("45 s");
    expect(formatSeconds(406)).toBe("7 min");
    expect(formatSeconds(3 * 3600 + 1800)).toBe("3.5 h");
    expect(formatSeconds(null)).toBe("—");
    expect(formatPercent(0.875)).toBe("87.5 %");
    expect(formatPercent(1)).toBe("100 %");
    expect(formatPercent(null)).toBe("—");
  });

  it("never rounds the health score up to perfect", () => {
    expect(formatScore(99.5)).toBe("99.5");
    expect(formatScore(99.96)).toBe("99.9");
    expect(formatScore(97.3)).toBe("97.3");
    expect(formatScore(100)).toBe("100");
    expect(formatScore(0)).toBe("0.0");
    expect(formatScore(null)).toBe("—");
  });

  it("clamps a negative wait to zero", () => {
    expect(formatAge(-1)).toBe("0 s");
    expect(formatAge(-0.4)).toBe("0 s");
    expect(formatAge(42)).toBe("42 s");
    expect(formatAge(180)).toBe("3 min");
    expect(formatAge(5400)).toBe("1.5 h");
  });
});
