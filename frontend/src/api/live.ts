// The live event stream: the eventReceived subscription over the websocket.
import { useEffect, useState, useSyncExternalStore } from "react";
import { useClient } from "urql";
import { graphql } from "../gql";
import type { EventListItemFragment } from "../gql/graphql";
import type { ConnectionState, ConnectionStore } from "./client";
import { apiErrorFromCombined, type ApiError } from "./errors";

export const EventReceivedSubscription = graphql(`
  subscription EventReceived($topics: [String!]) {
    eventReceived(topics: $topics) {
      ...EventListItem
    }
  }
`);

export const EventProcessedSubscription = graphql(`
  subscription EventProcessed($topics: [String!]) {
    eventProcessed(topics: $topics) {
      ...EventListItem
    }
  }
`);

/**
 * Calls onEvent for every event the server stores ("received") or finishes
 * processing ("processed"), optionally of some topics, while mounted.
 * Nothing is polled: the server pushes each event after its commit.
 */
export function useEventStream(
  kind: "received" | "processed",
  topics: string[] | null,
  onEvent: (event: EventListItemFragment) => void,
  enabled = true,
): ApiError | null {
  const client = useClient();
  const [error, setError] = useState<{ key: string; error: ApiError } | null>(null);
  const key = JSON.stringify([kind, topics]);
  useEffect(() => {
    if (!enabled) return;
    const [k, topicList] = JSON.parse(key) as [string, string[] | null];
    const variables = { topics: topicList && topicList.length > 0 ? topicList : null };
    const handle = (result: { error?: Parameters<typeof apiErrorFromCombined>[0]; event?: EventListItemFragment }) => {
      if (result.error) setError({ key, error: apiErrorFromCombined(result.error) });
      else if (result.event) onEvent(result.event);
    };
    const subscription =
      k === "processed"
        ? client.subscription(EventProcessedSubscription, variables).subscribe((r) => handle({ error: r.error, event: r.data?.eventProcessed }))
        : client.subscription(EventReceivedSubscription, variables).subscribe((r) => handle({ error: r.error, event: r.data?.eventReceived }));
    return () => subscription.unsubscribe();
  }, [client, key, onEvent, enabled]);
  return enabled && error?.key === key ? error.error : null;
}

/** Follows the websocket's state, for the monitor's status badge. */
export function useConnectionState(store: ConnectionStore): ConnectionState {
  return useSyncExternalStore(store.subscribe, store.get);
}
