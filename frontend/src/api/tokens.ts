// API tokens (admin only): list, create (the token is shown once), revoke.
import { useMutation, useQuery } from "urql";
import { graphql } from "../gql";
import { apiErrorFromCombined } from "./errors";

export const APITokensQuery = graphql(`
  query APITokens {
    apiTokens {
      id
      name
      role
      prefix
      createdAt
      lastUsedAt
      expiresAt
      revokedAt
    }
  }
`);

export const CreateAPITokenMutation = graphql(`
  mutation CreateAPIToken($input: CreateAPITokenInput!) {
    createAPIToken(input: $input) {
      token
      apiToken {
        id
        name
        role
        prefix
        createdAt
        lastUsedAt
        expiresAt
        revokedAt
      }
    }
  }
`);

export const RevokeAPITokenMutation = graphql(`
  mutation RevokeAPIToken($id: ID!) {
    revokeAPIToken(id: $id) {
      id
      revokedAt
    }
  }
`);

export function useAPITokens() {
  const [result, reexecute] = useQuery({ query: APITokensQuery, requestPolicy: "cache-and-network" });
  return {
    tokens: result.data?.apiTokens ?? [],
    fetching: result.fetching,
    loaded: result.data !== undefined,
    error: result.error ? apiErrorFromCombined(result.error) : null,
    refresh: () => reexecute({ requestPolicy: "network-only" }),
  };
}

export function useCreateAPIToken() {
  return useMutation(CreateAPITokenMutation);
}

export function useRevokeAPIToken() {
  return useMutation(RevokeAPITokenMutation);
}
