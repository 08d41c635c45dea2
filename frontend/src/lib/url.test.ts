import { describe, expect, it } from "vitest";
import { withParam } from "./url";

describe("withParam", () => {
  it("sets or removes one parameter and keeps the others", () => {
    const p = new URLSearchParams("range=7d&topic=x");
    expect(withParam(p, "event", "abc")).toBe("?range=7d&topic=x&event=abc");
    expect(withParam(p, "topic", null)).toBe("?range=7d");
    expect(withParam(new URLSearchParams(), "x", null)).toBe("?");
  });
});
