// GraphiQL's fetcher: HTTP with the session cookie and CSRF header for
// queries and mutations, the dashboard's websocket for subscriptions.
import type { Fetcher, FetcherParams } from "@graphiql/toolkit";
import { Kind, OperationTypeNode, parse, type OperationDefinitionNode } from "graphql";
import type { Client as WSClient, ExecutionResult } from "graphql-ws";
import { csrfToken } from "../../api/session";

/** Whether the operation GraphiQL is about to run is a subscription. */
export function isSubscription(params: Pick<FetcherParams, "query" | "operationName">): boolean {
  try {
    const ops = parse(params.query).definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
    const op = params.operationName ? ops.find((o) => o.name?.value === params.operationName) : ops[0];
    return op?.operation === OperationTypeNode.SUBSCRIPTION;
  } catch {
    // Let the server report the syntax error.
    return false;
  }
}

export function createPlaygroundFetcher(ws: WSClient, fetchImpl: typeof fetch = (...args) => fetch(...args)): Fetcher {
  return async (params, opts) => {
    if (isSubscription(params)) {
      return ws.iterate({
        query: params.query,
        operationName: params.operationName ?? null,
        variables: params.variables as Record<string, unknown> | undefined,
      }) as AsyncIterableIterator<ExecutionResult>;
    }
    const headers: Record<string, string> = {
      ...opts?.headers,
      "Content-Type": "application/json",
      Accept: "application/graphql-response+json, application/json",
      "X-CSRF-Token": csrfToken(),
    };
    const res = await fetchImpl("/graphql", {
      method: "POST",
      credentials: "same-origin",
      headers,
      body: JSON.stringify(params),
    });
    const text = await res.text();
    try {
      return JSON.parse(text) as Record<string, unknown>;
    } catch {
      return { errors: [{ message: `${res.status} ${res.statusText}: ${text.slice(0, 500)}` }] };
    }
  };
}
