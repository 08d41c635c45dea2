// The GraphQL client: HTTP with the session cookie and CSRF header, and the
// websocket (graphql-transport-ws) for subscriptions. A 401 anywhere sends the
// reader to sign in again.
import { cacheExchange, Client, fetchExchange, mapExchange, subscriptionExchange } from "@urql/core";
import { createClient as createWSClient, type Client as WSClient } from "graphql-ws";
import { apiErrorFromCombined } from "./errors";
import { csrfToken } from "./session";

export interface GraphQLClients {
  urql: Client;
  ws: WSClient;
}

/** Websocket close code the server uses when the connection is not authenticated. */
export const wsForbidden = 4403;

export function websocketURL(loc: Pick<Location, "protocol" | "host"> = window.location): string {
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/graphql`;
}

export function createClients(onUnauthenticated: () => void): GraphQLClients {
  const ws = createWSClient({
    url: websocketURL(),
    lazy: true,
    // Keep the socket a moment after the last subscription ends, so moving
    // between pages does not reconnect.
    lazyCloseTimeout: 3000,
    retryAttempts: Infinity,
    shouldRetry: (event) => !(event instanceof CloseEvent && event.code === wsForbidden),
    on: {
      closed: (event) => {
        if (event instanceof CloseEvent && event.code === wsForbidden) onUnauthenticated();
      },
    },
  });

  const urql = new Client({
    url: "/graphql",
    preferGetMethod: false,
    requestPolicy: "cache-and-network",
    fetchOptions: () => ({
      credentials: "same-origin",
      headers: { "X-CSRF-Token": csrfToken() },
    }),
    exchanges: [
      mapExchange({
        onError(error) {
          if (apiErrorFromCombined(error).unauthenticated) onUnauthenticated();
        },
      }),
      cacheExchange,
      fetchExchange,
      subscriptionExchange({
        forwardSubscription(request) {
          const input = { ...request, query: request.query ?? "" };
          return {
            subscribe(sink) {
              const unsubscribe = ws.subscribe(input, sink);
              return { unsubscribe };
            },
          };
        },
      }),
    ],
  });
  return { urql, ws };
}

let current: GraphQLClients | null = null;
let expiredHandler: () => void = () => undefined;
let expiring = false;

/** Sets what happens when the server says the session is gone (the router sends the reader to /login). */
export function onSessionExpired(handler: () => void): void {
  expiredHandler = handler;
}

/**
 * The clients of the current sign-in. They are made on first use and
 * dropped on sign-in and sign-out, so no cached data or open socket outlives
 * the session it belongs to.
 */
export function getClients(): GraphQLClients {
  if (!current) {
    expiring = false;
    current = createClients(() => {
      if (expiring) return;
      expiring = true;
      resetClients();
      expiredHandler();
    });
  }
  return current;
}

export function resetClients(): void {
  if (current) void current.ws.dispose();
  current = null;
}
