// The GraphQL client: HTTP with the session cookie and CSRF header, and the
// websocket (graphql-transport-ws) for subscriptions. A 401 anywhere sends the
// reader to sign in again.
import { cacheExchange, Client, fetchExchange, mapExchange, subscriptionExchange } from "@urql/core";
import { createClient as createWSClient, type Client as WSClient } from "graphql-ws";
import { apiErrorFromCombined } from "./errors";
import { csrfToken } from "./session";

export type ConnectionState = "idle" | "connecting" | "connected" | "reconnecting";

/** The websocket's state as a tiny store, for useSyncExternalStore. */
export interface ConnectionStore {
  get: () => ConnectionState;
  subscribe: (listener: () => void) => () => void;
}

export interface GraphQLClients {
  urql: Client;
  ws: WSClient;
  connection: ConnectionStore;
}

function connectionStore(): ConnectionStore & { set: (s: ConnectionState) => void } {
  let state: ConnectionState = "idle";
  const listeners = new Set<() => void>();
  return {
    get: () => state,
    set: (s) => {
      if (s === state) return;
      state = s;
      listeners.forEach((l) => l());
    },
    subscribe: (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
  };
}

/** Websocket close code the server uses when the connection is not authenticated. */
export const wsForbidden = 4403;

export function websocketURL(loc: Pick<Location, "protocol" | "host"> = window.location): string {
  return `${loc.protocol === "https:" ? "wss:" : "ws:"}//${loc.host}/graphql`;
}

export function createClients(onUnauthenticated: () => void): GraphQLClients {
  const connection = connectionStore();
  let everConnected = false;
  const ws = createWSClient({
    url: websocketURL(),
    lazy: true,
    // Keep the socket a moment after the last subscription ends, so moving
    // between pages does not reconnect.
    lazyCloseTimeout: 3000,
    retryAttempts: Infinity,
    shouldRetry: (event) => !(event instanceof CloseEvent && event.code === wsForbidden),
    on: {
      connecting: () => connection.set(everConnected ? "reconnecting" : "connecting"),
      connected: () => {
        everConnected = true;
        connection.set("connected");
      },
      closed: (event) => {
        // A lazy client closes when nothing is subscribed: that is idle, not trouble.
        connection.set("idle");
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
  return { urql, ws, connection };
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
