// Journeys: each transfer's or customer's path through Dwolla's topics.
// Definition and status filters and the time range (journeys started in
// it) live in the URL; changes arrive live through journeyUpdated and
// journeyStuck, and are merged into the loaded rows.
import { useCallback, useMemo, useState } from "react";
import { Link, useSearchParams } from "react-router";
import { journeyStatuses, useJourneyDefinitions, useJourneyList, useJourneyStats, useJourneyStream } from "../../api/journeys";
import { EmptyState, ErrorState, Loading } from "../../components/States";
import { useResolvedTimeRange, useTimeRange } from "../../components/TimeRangePicker";
import type { JourneyListItemFragment } from "../../gql/graphql";
import { formatNumber } from "../../lib/format";
import { withParam } from "../../lib/url";
import { journeyWhere, parseJourneyFilters, writeJourneyFilters, type JourneyFilters } from "../../lib/journeyFilters";
import { describeTimeRange } from "../../lib/timeRange";
import { JourneyDrawer } from "./JourneyDrawer";
import { JourneyStatsPanel } from "./JourneyStatsPanel";
import { JourneyTable } from "./JourneyTable";

export function JourneysRoute() {
  const [params, setParams] = useSearchParams();
  const [range] = useTimeRange();
  const filters = parseJourneyFilters(params);
  const bounds = useResolvedTimeRange(range);
  const defs = useJourneyDefinitions();
  const list = useJourneyList(journeyWhere(filters, bounds));
  // All time asks from the epoch: the server's default is the last 30 days.
  const stats = useJourneyStats(filters.definition, bounds.from ?? new Date(0), bounds.to);
  const [stuck, setStuck] = useState<JourneyListItemFragment[]>([]);
  const [changed, setChanged] = useState(0);
  const openJourney = params.get("journey");
  const names = useMemo(() => new Map(defs.definitions.map((d) => [d.key, d.name])), [defs.definitions]);

  const { patch } = list;
  const onUpdate = useCallback(
    (j: JourneyListItemFragment) => {
      patch((row) => (row.id === j.id ? j : row));
      setChanged((n) => n + 1);
    },
    [patch],
  );
  const onStuck = useCallback((j: JourneyListItemFragment) => setStuck((s) => [j, ...s.filter((x) => x.id !== j.id)].slice(0, 5)), []);
  const streamError = useJourneyStream(filters.definition || null, onUpdate, onStuck);

  const setFilters = (f: JourneyFilters) =>
    setParams((p) => {
      const next = writeJourneyFilters(p, f);
      next.delete("journey");
      return next;
    });
  const definition = defs.definitions.find((d) => d.key === filters.definition);

  return (
    <div className="journeys-page">
      <form
        key={params.toString()}
        className="filters"
        role="search"
        aria-label="Filter journeys"
        onSubmit={(e) => {
          e.preventDefault();
          const q = new FormData(e.currentTarget).get("q");
          setFilters({ ...filters, q: typeof q === "string" ? q.trim() : "" });
        }}
      >
        <div className="field">
          <label htmlFor="j-definition">Journey</label>
          <select id="j-definition" value={filters.definition} onChange={(e) => setFilters({ ...filters, definition: e.target.value })}>
            <option value="">All journeys</option>
            {filters.definition && !definition && <option value={filters.definition}>{filters.definition}</option>}
            {defs.definitions.map((d) => (
              <option key={d.key} value={d.key}>
                {d.name}
                {d.enabled ? "" : " (disabled)"}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="j-status">Status</label>
          <select
            id="j-status"
            value={filters.status}
            onChange={(e) => setFilters({ ...filters, status: journeyStatuses.find((s) => s === e.target.value) ?? "" })}
          >
            <option value="">Any status</option>
            {journeyStatuses.map((s) => (
              <option key={s} value={s}>
                {s}
              </option>
            ))}
          </select>
        </div>
        <div className="field grow">
          <label htmlFor="j-q">Customer, resource or correlation id</label>
          <input id="j-q" name="q" type="search" defaultValue={filters.q} spellCheck={false} />
        </div>
        <div className="field actions">
          <button type="submit" className="button primary">
            Apply
          </button>
          <Link className="button ghost" to="/journeys/definitions">
            Definitions
          </Link>
        </div>
      </form>
      {defs.error && <ErrorState error={defs.error} title="Could not load the journey definitions" onRetry={defs.refresh} />}

      {stuck.length > 0 && (
        <div className="notice warn-notice" role="status" data-testid="stuck-notice">
          <strong>Just became stuck:</strong>
          <ul>
            {stuck.map((j) => (
              <li key={j.id}>
                <Link to={withParam(params, "journey", j.id)}>
                  {names.get(j.definitionKey) ?? j.definitionKey} <code>{j.correlationKey}</code>
                </Link>{" "}
                at {j.currentStepName ?? j.currentStep ?? "?"}
              </li>
            ))}
          </ul>
          <button type="button" className="button ghost" onClick={() => setStuck([])}>
            Dismiss
          </button>
        </div>
      )}
      {streamError && <ErrorState error={streamError} title="Live journey updates stopped" />}

      {filters.definition &&
        (stats.error ? (
          <ErrorState error={stats.error} title="Could not load the journey statistics" onRetry={stats.retry} />
        ) : stats.stats ? (
          <JourneyStatsPanel stats={stats.stats} name={definition?.name ?? filters.definition} />
        ) : (
          <Loading label="Computing the funnel…" />
        ))}

      <div className="result-bar" aria-live="polite">
        <span data-testid="journey-count">
          {list.totalCount === null ? "Counting…" : `${formatNumber(list.totalCount)} journey${list.totalCount === 1 ? "" : "s"}`}
        </span>
        <span className="muted"> · started in {describeTimeRange(range).toLowerCase()}</span>
        <span className="result-actions">
          {changed > 0 && <span className="muted">{changed} live update{changed === 1 ? "" : "s"} applied</span>}
          <button
            type="button"
            className="button ghost"
            onClick={() => {
              setChanged(0);
              list.reload();
              stats.retry();
            }}
          >
            Refresh
          </button>
        </span>
      </div>

      {list.error ? (
        <ErrorState error={list.error} title="Could not load journeys" onRetry={list.reload} />
      ) : list.nodes.length === 0 && list.loading ? (
        <Loading label="Loading journeys…" />
      ) : list.nodes.length === 0 ? (
        <EmptyState title="No journeys match.">
          <p className="muted">Journeys start when events of a definition arrive. Widen the time range or clear a filter.</p>
        </EmptyState>
      ) : (
        <>
          <JourneyTable journeys={list.nodes} names={names} />
          <div className="table-foot">
            {list.hasMore ? (
              <button type="button" className="button" onClick={list.loadMore} disabled={list.loading}>
                {list.loading ? "Loading…" : `Load more (${list.nodes.length} of ${formatNumber(list.totalCount ?? 0)})`}
              </button>
            ) : (
              `All ${list.nodes.length} shown`
            )}
          </div>
        </>
      )}
      {openJourney && (
        <JourneyDrawer
          key={openJourney}
          id={openJourney}
          onClose={() =>
            setParams((p) => {
              const n = new URLSearchParams(p);
              n.delete("journey");
              return n;
            })
          }
        />
      )}
    </div>
  );
}
