import { describe, expect, it } from "vitest";
import { safeNext } from "./LoginRoute";

describe("safeNext", () => {
  it("only follows same-site paths", () => {
    expect(safeNext("/events?topic=x")).toBe("/events?topic=x");
    expect(safeNext("https://evil.example")).toBe("/");
    expect(safeNext("//evil.example")).toBe("/");
    expect(safeNext("/login?next=/x")).toBe("/");
    expect(safeNext(null)).toBe("/");
  });
});
