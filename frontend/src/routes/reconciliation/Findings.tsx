// What reconciliation found: missing events, failed deliveries, stuck or
// dead-lettered events, inconsistent journeys. Filters live in the URL;
// admins close a finding with a note.
import { useState } from "react";
import { Link } from "react-router";
import { apiErrorFromCombined, type ApiError } from "../../api/errors";
import { useResolveFinding } from "../../api/reconcile";
import type { Pages } from "../../api/paging";
import { ConfirmDialog } from "../../components/ConfirmDialog";
import { EmptyState, ErrorState, Loading } from "../../components/States";
import type { FindingFieldsFragment, ReconciliationFindingWhereInput } from "../../gql/graphql";
import { formatNumber, formatTime } from "../../lib/format";

export const findingKinds = [
  "missing_event",
  "failed_delivery",
  "never_sent",
  "subscription_paused",
  "duplicate_deliveries",
  "stuck_event",
  "dead_lettered",
  "journey_inconsistent",
] as const;
export const findingSeverities = ["info", "warning", "critical"] as const;

export interface FindingFilters {
  /** open (the default), resolved, or all. */
  status: "open" | "resolved" | "all";
  kind: string;
  severity: string;
}

export function parseFindingFilters(params: URLSearchParams): FindingFilters {
  const status = params.get("findings");
  const kind = params.get("kind") ?? "";
  const severity = params.get("severity") ?? "";
  return {
    status: status === "resolved" || status === "all" ? status : "open",
    kind: (findingKinds as readonly string[]).includes(kind) ? kind : "",
    severity: (findingSeverities as readonly string[]).includes(severity) ? severity : "",
  };
}

export function writeFindingFilters(params: URLSearchParams, f: FindingFilters): URLSearchParams {
  const next = new URLSearchParams(params);
  if (f.status === "open") next.delete("findings");
  else next.set("findings", f.status);
  for (const [k, v] of [
    ["kind", f.kind],
    ["severity", f.severity],
  ] as const) {
    if (v) next.set(k, v);
    else next.delete(k);
  }
  return next;
}

export function findingWhere(f: FindingFilters): ReconciliationFindingWhereInput {
  const where: ReconciliationFindingWhereInput = {};
  if (f.status !== "all") where.status = f.status;
  if (f.kind) where.kind = f.kind as (typeof findingKinds)[number];
  if (f.severity) where.severity = f.severity as (typeof findingSeverities)[number];
  return where;
}

/** Findings of one kind and cause (severity and topic), counted. */
export interface FindingGroup {
  key: string;
  kind: string;
  severity: string;
  topic: string | null;
  ids: string[];
}

/** Groups the open findings shown by kind and cause, largest first. */
export function groupFindings(findings: readonly FindingFieldsFragment[]): FindingGroup[] {
  const groups = new Map<string, FindingGroup>();
  for (const f of findings) {
    if (f.status !== "open") continue;
    const key = `${f.kind}|${f.severity}|${f.topic ?? ""}`;
    const g = groups.get(key) ?? { key, kind: f.kind, severity: f.severity, topic: f.topic ?? null, ids: [] };
    g.ids.push(f.id);
    groups.set(key, g);
  }
  return [...groups.values()].sort((a, b) => b.ids.length - a.ids.length || a.key.localeCompare(b.key));
}

/** A link to what the finding is about, when hooklens has a page for it. */
function Subject({ f }: { f: FindingFieldsFragment }) {
  const eventKinds = ["missing_event", "failed_delivery", "never_sent", "stuck_event", "dead_lettered", "duplicate_deliveries"];
  if (eventKinds.includes(f.kind) && /^[0-9a-f-]{36}$/i.test(f.subject)) {
    return (
      <Link to={`/events?event=${f.subject}&range=all`}>
        <code>{f.subject}</code>
      </Link>
    );
  }
  return <code className="wrap">{f.subject}</code>;
}

export function Findings({
  filters,
  onFilters,
  pages,
  admin,
}: {
  filters: FindingFilters;
  onFilters: (f: FindingFilters) => void;
  pages: Pages<FindingFieldsFragment>;
  admin: boolean;
}) {
  const [resolving, setResolving] = useState<FindingFieldsFragment | null>(null);
  const [resolvingGroup, setResolvingGroup] = useState<FindingGroup | null>(null);
  const [groupDone, setGroupDone] = useState<number | null>(null);
  const groups = groupFindings(pages.nodes);
  const [note, setNote] = useState("");
  const [error, setError] = useState<ApiError | null>(null);
  const [{ fetching }, resolve] = useResolveFinding();

  return (
    <section aria-labelledby="findings-title" data-testid="findings">
      <h2 id="findings-title">Findings</h2>
      <div className="filters" role="search" aria-label="Filter findings">
        <div className="field">
          <label htmlFor="f-fstatus">Status</label>
          <select id="f-fstatus" value={filters.status} onChange={(e) => onFilters({ ...filters, status: e.target.value as FindingFilters["status"] })}>
            <option value="open">open</option>
            <option value="resolved">resolved</option>
            <option value="all">all</option>
          </select>
        </div>
        <div className="field">
          <label htmlFor="f-kind">Kind</label>
          <select id="f-kind" value={filters.kind} onChange={(e) => onFilters({ ...filters, kind: e.target.value })}>
            <option value="">any kind</option>
            {findingKinds.map((k) => (
              <option key={k} value={k}>
                {k.replaceAll("_", " ")}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="f-severity">Severity</label>
          <select id="f-severity" value={filters.severity} onChange={(e) => onFilters({ ...filters, severity: e.target.value })}>
            <option value="">any severity</option>
            {findingSeverities.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
      </div>
      {error && <ErrorState error={error} title="Could not resolve the finding" />}
      {groups.length > 0 && (
        <div className="finding-groups" data-testid="finding-groups">
          <h3>Open, by kind and cause</h3>
          <ul className="alert-list">
            {groups.map((g) => (
              <li key={g.key} className={`alert-item severity-border-${g.severity}`} data-testid="finding-group">
                <div className="alert-head">
                  <span className={`badge severity-${g.severity}`}>{g.severity}</span>
                  <strong>
                    {formatNumber(g.ids.length)} × {g.kind.replaceAll("_", " ")}
                  </strong>
                  {g.topic && <code className="small">{g.topic}</code>}
                  <button type="button" className="button link small" onClick={() => onFilters({ ...filters, kind: g.kind, severity: g.severity })}>
                    show only these
                  </button>
                  {admin && (
                    <button type="button" className="button small" onClick={() => setResolvingGroup(g)} data-testid="resolve-group">
                      Resolve {g.ids.length === 1 ? "it" : `all ${formatNumber(g.ids.length)}`}
                    </button>
                  )}
                </div>
              </li>
            ))}
          </ul>
          {pages.hasMore && <p className="muted small">Groups count the findings loaded so far; load more to group the rest.</p>}
        </div>
      )}
      {pages.error ? (
        <ErrorState error={pages.error} title="Could not load findings" onRetry={pages.reload} />
      ) : pages.nodes.length === 0 && pages.loading ? (
        <Loading label="Loading findings…" />
      ) : pages.nodes.length === 0 ? (
        <EmptyState title={filters.status === "open" ? "No open findings." : "No findings match."} />
      ) : (
        <div className="table-wrap">
          <table className="data-table">
            <caption className="muted">
              {formatNumber(pages.totalCount ?? pages.nodes.length)} finding{pages.totalCount === 1 ? "" : "s"}
            </caption>
            <thead>
              <tr>
                <th scope="col">Found</th>
                <th scope="col">Kind</th>
                <th scope="col">Severity</th>
                <th scope="col">About</th>
                <th scope="col">Detail</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span className="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {pages.nodes.map((f) => (
                <tr key={f.id} data-testid="finding">
                  <td>{formatTime(f.createdAt)}</td>
                  <td>{f.kind.replaceAll("_", " ")}</td>
                  <td>
                    <span className={`badge severity-${f.severity}`}>{f.severity}</span>
                  </td>
                  <td>
                    <Subject f={f} />
                    {f.topic && <div className="muted small">{f.topic}</div>}
                  </td>
                  <td>{f.detail}</td>
                  <td>
                    {f.status}
                    {f.status === "resolved" && (
                      <div className="muted small">
                        {f.autoResolved ? "by hooklens" : `by ${f.resolvedBy ?? "?"}`} {formatTime(f.resolvedAt)}
                        {f.resolutionNote && `: ${f.resolutionNote}`}
                      </div>
                    )}
                  </td>
                  <td>
                    {admin && f.status === "open" && (
                      <button type="button" className="button small" onClick={() => setResolving(f)}>
                        Resolve
                      </button>
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
      {resolvingGroup && (
        <ConfirmDialog
          title={`Resolve ${resolvingGroup.ids.length} ${resolvingGroup.kind.replaceAll("_", " ")} finding${resolvingGroup.ids.length === 1 ? "" : "s"}?`}
          confirmLabel={groupDone === null ? "Resolve all" : `Resolving ${groupDone} of ${resolvingGroup.ids.length}…`}
          busy={groupDone !== null || note.trim() === ""}
          onCancel={() => {
            setResolvingGroup(null);
            setNote("");
          }}
          onConfirm={() => {
            const group = resolvingGroup;
            const text = note.trim();
            setError(null);
            setGroupDone(0);
            // One note for the group; each finding is closed (and audited) on its own.
            void (async () => {
              for (const [i, id] of group.ids.entries()) {
                const r = await resolve({ id, note: text });
                if (r.error) {
                  setError(apiErrorFromCombined(r.error));
                  break;
                }
                setGroupDone(i + 1);
              }
              setGroupDone(null);
              setResolvingGroup(null);
              setNote("");
              pages.reload();
            })();
          }}
        >
          <p>
            Every open {resolvingGroup.kind.replaceAll("_", " ")} finding of severity {resolvingGroup.severity}
            {resolvingGroup.topic ? ` about ${resolvingGroup.topic}` : ""} shown here is closed with this note.
          </p>
          <label htmlFor="resolve-group-note">Note (required)</label>
          <input id="resolve-group-note" value={note} onChange={(e) => setNote(e.target.value)} placeholder="What was done" />
        </ConfirmDialog>
      )}
      {resolving && (
        <ConfirmDialog
          title="Resolve this finding?"
          confirmLabel="Resolve"
          busy={fetching || note.trim() === ""}
          onCancel={() => {
            setResolving(null);
            setNote("");
          }}
          onConfirm={() => {
            setError(null);
            void resolve({ id: resolving.id, note: note.trim() }).then((r) => {
              if (r.error) setError(apiErrorFromCombined(r.error));
              setResolving(null);
              setNote("");
              pages.reload();
            });
          }}
        >
          <p>{resolving.detail}</p>
          <label htmlFor="resolve-note">Note (required)</label>
          <input id="resolve-note" value={note} onChange={(e) => setNote(e.target.value)} placeholder="What was done" />
        </ConfirmDialog>
      )}
    </section>
  );
}
