import { CombinedError } from "@urql/core";
import { GraphQLError } from "graphql";
import { describe, expect, it } from "vitest";
import { apiErrorFromCombined, apiErrorFromResponse, toApiError } from "./errors";

describe("errors", () => {
  it("reads the server's REST error shape and request id", async () => {
    const res = new Response(JSON.stringify({ error: { code: "unauthenticated", message: "invalid token" }, requestId: "r-1" }), {
      status: 401,
    });
    const err = await apiErrorFromResponse(res);
    expect(err.message).toBe("invalid token");
    expect(err.code).toBe("unauthenticated");
    expect(err.requestId).toBe("r-1");
    expect(err.unauthenticated).toBe(true);
  });

  it("falls back to the status and the X-Request-ID header for other bodies", async () => {
    const err = await apiErrorFromResponse(new Response("<html>", { status: 502, statusText: "Bad Gateway", headers: { "X-Request-ID": "r-2" } }));
    expect(err.message).toBe("502 Bad Gateway");
    expect(err.requestId).toBe("r-2");
    expect(err.unauthenticated).toBe(false);
  });

  it("keeps a GraphQL error's message and code, and the response's request id", () => {
    const combined = new CombinedError({
      graphQLErrors: [new GraphQLError("viewers cannot run mutations", { extensions: { code: "FORBIDDEN" } })],
      response: new Response("", { status: 403, headers: { "X-Request-ID": "r-3" } }),
    });
    const err = apiErrorFromCombined(combined);
    expect(err.message).toBe("viewers cannot run mutations");
    expect(err.code).toBe("FORBIDDEN");
    expect(err.status).toBe(403);
    expect(err.requestId).toBe("r-3");
  });

  it("treats a 401 network error as an ended session", () => {
    const combined = new CombinedError({ networkError: new Error("Unauthorized"), response: new Response("", { status: 401 }) });
    const err = apiErrorFromCombined(combined);
    expect(err.unauthenticated).toBe(true);
    expect(err.code).toBe("UNAUTHENTICATED");
  });

  it("wraps anything thrown", () => {
    expect(toApiError("boom").message).toBe("boom");
    expect(toApiError(new Error("bang")).code).toBe("CLIENT");
  });
});
