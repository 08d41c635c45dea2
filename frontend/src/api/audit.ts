// The audit trail (admins): who did what, append-only and hash-chained.
import { useCallback } from "react";
import { useClient } from "urql";
import { graphql } from "../gql";
import type { AuditLogWhereInput } from "../gql/graphql";
import { apiErrorFromCombined } from "./errors";
import { useCursorPages } from "./paging";

export const AuditLogsPageQuery = graphql(`
  query AuditLogsPage($where: AuditLogWhereInput, $first: Int!, $after: Cursor) {
    auditLogs(where: $where, first: $first, after: $after, orderBy: { field: SEQ, direction: DESC }) {
      totalCount
      pageInfo {
        hasNextPage
        endCursor
      }
      edges {
        node {
          id
          seq
          at
          actor
          actorKind
          action
          target
          detail
          remoteAddr
          requestID
          prevHash
          hash
        }
      }
    }
  }
`);

export function useAuditLogs(where: AuditLogWhereInput) {
  const client = useClient();
  const key = JSON.stringify(where);
  const load = useCallback(
    async (after: string | null) => {
      const w = JSON.parse(key) as AuditLogWhereInput;
      const res = await client
        .query(AuditLogsPageQuery, { where: Object.keys(w).length ? w : null, first: 100, after }, { requestPolicy: "network-only" })
        .toPromise();
      if (res.error) return apiErrorFromCombined(res.error);
      const conn = res.data?.auditLogs;
      return {
        nodes: (conn?.edges ?? []).flatMap((e) => (e?.node ? [e.node] : [])),
        totalCount: conn?.totalCount ?? 0,
        endCursor: conn?.pageInfo.endCursor ?? null,
        hasMore: conn?.pageInfo.hasNextPage ?? false,
      };
    },
    [client, key],
  );
  return useCursorPages(key, load);
}
