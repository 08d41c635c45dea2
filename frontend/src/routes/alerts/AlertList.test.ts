import { describe, expect, it } from "vitest";
import { alertWhere, parseAlertStatus } from "./AlertList";

describe("alert status filter", () => {
  it("defaults to what still needs attention", () => {
    expect(parseAlertStatus(null)).toBe("active");
    expect(parseAlertStatus("bogus")).toBe("active");
    expect(alertWhere("active")).toEqual({ statusIn: ["firing", "acknowledged"] });
    expect(alertWhere("resolved")).toEqual({ status: "resolved" });
    expect(alertWhere("all")).toEqual({});
  });
});
