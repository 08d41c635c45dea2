import { describe, expect, it } from "vitest";
import { nextPreference, parsePreference, readPreference, resolveTheme, storePreference } from "./theme";

describe("theme", () => {
  it("follows the system unless the reader chose", () => {
    expect(resolveTheme("system", true)).toBe("dark");
    expect(resolveTheme("system", false)).toBe("light");
    expect(resolveTheme("light", true)).toBe("light");
    expect(parsePreference("purple")).toBe("system");
  });

  it("cycles system → light → dark → system and remembers the choice", () => {
    expect(nextPreference("system")).toBe("light");
    expect(nextPreference("light")).toBe("dark");
    expect(nextPreference("dark")).toBe("system");
    storePreference("dark");
    expect(readPreference()).toBe("dark");
    storePreference("system");
    expect(readPreference()).toBe("system");
  });
});
