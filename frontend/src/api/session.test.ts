import { afterEach, describe, expect, it, vi } from "vitest";
import { fetchSession, signIn, tokenFromFragment } from "./session";

afterEach(() => vi.unstubAllGlobals());

describe("session", () => {
  it("reads the token from a sign-in link's fragment", () => {
    expect(tokenFromFragment("#token=hl_abc")).toBe("hl_abc");
    expect(tokenFromFragment("token=hl_abc&x=1")).toBe("hl_abc");
    expect(tokenFromFragment("#other=1")).toBeNull();
    expect(tokenFromFragment("")).toBeNull();
  });

  it("is null when nobody is signed in", async () => {
    vi.stubGlobal("fetch", vi.fn(() => Promise.resolve(new Response("{}", { status: 401 }))));
    expect(await fetchSession()).toBeNull();
  });

  it("signs in with the token and returns the role", async () => {
    const fetchMock = vi.fn((_url: string, _init?: RequestInit) =>
      Promise.resolve(new Response(JSON.stringify({ name: "ops", role: "viewer", csrfToken: "c" }), { status: 200 })),
    );
    vi.stubGlobal("fetch", fetchMock);
    expect(await signIn("  hl_x  ")).toEqual({ name: "ops", role: "viewer", csrfToken: "c" });
    const init = fetchMock.mock.calls[0]?.[1];
    expect(init?.method).toBe("POST");
    expect(init?.body).toBe(JSON.stringify({ token: "hl_x" }));
  });

  it("reports a refused token with the server's message", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(() => Promise.resolve(new Response(JSON.stringify({ error: { code: "unauthenticated", message: "invalid or revoked token" }, requestId: "q" }), { status: 401 }))),
    );
    await expect(signIn("hl_bad")).rejects.toMatchObject({ message: "invalid or revoked token", requestId: "q" });
  });
});
