// Settings → Audit log (admins): every sign-in, token use and change,
// newest first, filtered by actor and action (in the URL).
import { useState } from "react";
import { Link, useSearchParams } from "react-router";
import { useAuditLogs } from "../../api/audit";
import { useIsAdmin } from "../../api/sessionContext";
import { JsonTree } from "../../components/JsonTree";
import { SettingsTabs } from "../../components/SettingsTabs";
import { EmptyState, ErrorState, Loading } from "../../components/States";
import type { AuditLogWhereInput } from "../../gql/graphql";
import { formatNumber, formatTime } from "../../lib/format";

export function auditWhere(params: URLSearchParams): AuditLogWhereInput {
  const where: AuditLogWhereInput = {};
  const actor = params.get("actor")?.trim();
  const action = params.get("action")?.trim();
  if (actor) where.actor = actor;
  if (action) where.actionHasPrefix = action;
  return where;
}

export function AuditRoute() {
  const admin = useIsAdmin();
  if (!admin) {
    return (
      <>
        <SettingsTabs />
        <EmptyState title="Only admins read the audit log." />
      </>
    );
  }
  return <AuditLog />;
}

function AuditLog() {
  const [params, setParams] = useSearchParams();
  const pages = useAuditLogs(auditWhere(params));
  const [open, setOpen] = useState<string | null>(null);
  return (
    <div className="audit-page">
      <SettingsTabs />
      <p className="muted">
        Append-only and hash-chained: each entry carries the hash of the one before, so <code>hooklens audit verify</code> detects any
        change or gap.
      </p>
      <form
        key={params.toString()}
        className="filters"
        role="search"
        aria-label="Filter the audit log"
        onSubmit={(e) => {
          e.preventDefault();
          const data = new FormData(e.currentTarget);
          setParams((p) => {
            const n = new URLSearchParams(p);
            for (const k of ["actor", "action"]) {
              const v = data.get(k);
              if (typeof v === "string" && v.trim()) n.set(k, v.trim());
              else n.delete(k);
            }
            return n;
          });
        }}
      >
        <div className="field">
          <label htmlFor="au-actor">Actor (token name, system, cli)</label>
          <input id="au-actor" name="actor" defaultValue={params.get("actor") ?? ""} />
        </div>
        <div className="field">
          <label htmlFor="au-action">Action starts with</label>
          <input id="au-action" name="action" defaultValue={params.get("action") ?? ""} placeholder="token." />
        </div>
        <div className="field actions">
          <button type="submit" className="button primary">
            Apply
          </button>
          <Link className="button ghost" to="/settings/audit">
            Clear
          </Link>
        </div>
      </form>
      {pages.error ? (
        <ErrorState error={pages.error} title="Could not load the audit log" onRetry={pages.reload} />
      ) : pages.nodes.length === 0 && pages.loading ? (
        <Loading label="Loading the audit log…" />
      ) : pages.nodes.length === 0 ? (
        <EmptyState title="No entries match." />
      ) : (
        <div className="table-wrap">
          <table className="data-table" data-testid="audit-table">
            <caption className="muted">
              {pages.nodes.length} of {formatNumber(pages.totalCount ?? 0)} entries, newest first
            </caption>
            <thead>
              <tr>
                <th scope="col">#</th>
                <th scope="col">At</th>
                <th scope="col">Actor</th>
                <th scope="col">Action</th>
                <th scope="col">Target</th>
                <th scope="col">From</th>
                <th scope="col">Request id</th>
                <th scope="col">
                  <span className="visually-hidden">Details</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {pages.nodes.map((e) => (
                <tr key={e.id} data-testid="audit-row">
                  <td className="num">{e.seq}</td>
                  <td>{formatTime(e.at)}</td>
                  <td>
                    {e.actor} <span className="muted small">({e.actorKind})</span>
                  </td>
                  <td>
                    <code>{e.action}</code>
                  </td>
                  <td className="wrap">{e.target ?? "—"}</td>
                  <td>
                    <code>{e.remoteAddr ?? "—"}</code>
                  </td>
                  <td>
                    <code className="small">{e.requestID ?? "—"}</code>
                  </td>
                  <td>
                    <button type="button" className="button ghost small" aria-expanded={open === e.id} onClick={() => setOpen(open === e.id ? null : e.id)}>
                      Details
                    </button>
                    {open === e.id && (
                      <div className="audit-detail">
                        {e.detail ? <JsonTree value={e.detail} label={`Details of entry ${e.seq}`} /> : <p className="muted">No details.</p>}
                        <p className="muted small">
                          hash <code className="wrap">{e.hash}</code>
                          <br />
                          previous <code className="wrap">{e.prevHash}</code>
                        </p>
                      </div>
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {pages.hasMore && (
            <button type="button" className="button" onClick={pages.loadMore} disabled={pages.loading}>
              Load more
            </button>
          )}
        </div>
      )}
    </div>
  );
}
