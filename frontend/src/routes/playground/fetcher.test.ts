import { describe, expect, it, vi } from "vitest";
import type { Client } from "graphql-ws";
import { createPlaygroundFetcher, isSubscription } from "./fetcher";

describe("playground fetcher", () => {
  it("tells subscriptions from queries, by operation name when there are several", () => {
    expect(isSubscription({ query: "subscription { eventReceived { id } }", operationName: null })).toBe(true);
    expect(isSubscription({ query: "{ viewer { name } }", operationName: null })).toBe(false);
    const doc = "query A { viewer { name } } subscription B { eventReceived { id } }";
    expect(isSubscription({ query: doc, operationName: "B" })).toBe(true);
    expect(isSubscription({ query: doc, operationName: "A" })).toBe(false);
    expect(isSubscription({ query: "{ broken", operationName: null })).toBe(false);
  });

  it("posts queries with the CSRF header from the cookie", async () => {
    document.cookie = "hooklens_csrf=tok123; path=/";
    const fetchImpl = vi.fn((_url: RequestInfo | URL, _init?: RequestInit) => Promise.resolve(new Response(JSON.stringify({ data: { viewer: { name: "a" } } }))));
    const ws = { iterate: vi.fn() } as unknown as Client;
    const fetcher = createPlaygroundFetcher(ws, fetchImpl);
    const result = await fetcher({ query: "{ viewer { name } }", operationName: null });
    expect(result).toEqual({ data: { viewer: { name: "a" } } });
    const headers = fetchImpl.mock.calls[0]?.[1]?.headers as Record<string, string>;
    expect(headers["X-CSRF-Token"]).toBe("tok123");
  });
});
