// The live event stream: the eventReceived subscription over the websocket.
import { useEffect, useState } from "react";
import { useClient } from "urql";
import { graphql } from "../gql";
import type { EventListItemFragment } from "../gql/graphql";
import type { Client as WSClient } from "graphql-ws";
import { apiErrorFromCombined, type ApiError } from "./errors";

export const EventReceivedSubscription = graphql(`
  subscription EventReceived($topics: [String!]) {
    eventReceived(topics: $topics) {
      ...EventListItem
    }
  }
`);

/**
 * Calls onEvent for every newly stored event (optionally of some topics)
 * while mounted. Nothing is polled: the server pushes each event after its
 * commit.
 */
export function useEventStream(topics: string[] | null, onEvent: (event: EventListItemFragment) => void): ApiError | null {
  const client = useClient();
  const [error, setError] = useState<{ key: string; error: ApiError } | null>(null);
  const key = JSON.stringify(topics);
  useEffect(() => {
    const topicList = JSON.parse(key) as string[] | null;
    const subscription = client
      .subscription(EventReceivedSubscription, { topics: topicList && topicList.length > 0 ? topicList : null })
      .subscribe((result) => {
        if (result.error) {
          setError({ key, error: apiErrorFromCombined(result.error) });
          return;
        }
        const event = result.data?.eventReceived;
        if (event) onEvent(event);
      });
    return () => subscription.unsubscribe();
  }, [client, key, onEvent]);
  return error?.key === key ? error.error : null;
}

export type ConnectionState = "connecting" | "connected" | "reconnecting";

/** Follows the websocket's state, for the monitor's status badge. */
export function useConnectionState(ws: WSClient): ConnectionState {
  const [state, setState] = useState<ConnectionState>("connecting");
  useEffect(() => {
    const offs = [
      ws.on("connecting", () => setState((s) => (s === "connected" ? "reconnecting" : s))),
      ws.on("connected", () => setState("connected")),
      ws.on("closed", () => setState("reconnecting")),
    ];
    return () => offs.forEach((off) => off());
  }, [ws]);
  return state;
}
