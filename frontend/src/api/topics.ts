// Dwolla's topic catalogue with the counts seen by this server.
import { useQuery } from "urql";
import { graphql } from "../gql";
import { apiErrorFromCombined } from "./errors";

export const TopicsQuery = graphql(`
  query Topics {
    topics {
      name
      resource
      family
      description
      terminal
      outcome
      known
      seen
      lastSeenAt
    }
  }
`);

export function useTopics() {
  const [result, reexecute] = useQuery({ query: TopicsQuery, requestPolicy: "cache-and-network" });
  return {
    topics: result.data?.topics ?? [],
    fetching: result.fetching,
    error: result.error ? apiErrorFromCombined(result.error) : null,
    retry: () => reexecute({ requestPolicy: "network-only" }),
  };
}
