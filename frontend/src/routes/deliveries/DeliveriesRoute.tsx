// Every delivery received — accepted, duplicate or rejected — with counts
// by outcome, filtered by outcome, remote address and the time range (URL).
import { useState } from "react";
import { Link, useSearchParams } from "react-router";
import { deliveryOutcomes, useDeliveries, useDeliveryCounts } from "../../api/deliveries";
import { useLiveArrivals, useLiveMode } from "../../api/liveArrivals";
import { LiveControl } from "../../components/LiveControl";
import { EmptyState, ErrorState, Loading } from "../../components/States";
import { EventTabs } from "../../components/EventTabs";
import { useResolvedTimeRange, useTimeRange } from "../../components/TimeRangePicker";
import type { WebhookDeliveryOutcome, WebhookDeliveryWhereInput } from "../../gql/graphql";
import { formatBytes, formatMs, formatNumber, formatTime } from "../../lib/format";

export interface DeliveryFilters {
  outcome: WebhookDeliveryOutcome | "";
  remote: string;
}

export function parseDeliveryFilters(params: URLSearchParams): DeliveryFilters {
  const o = params.get("outcome") ?? "";
  return {
    outcome: deliveryOutcomes.find((x) => x === o) ?? "",
    remote: (params.get("remote") ?? "").trim(),
  };
}

export function deliveryWhere(f: DeliveryFilters, bounds: { from: Date | null; to: Date | null }): WebhookDeliveryWhereInput {
  const w: WebhookDeliveryWhereInput = {};
  if (f.outcome) w.outcome = f.outcome;
  if (f.remote) w.remoteAddrHasPrefix = f.remote;
  if (bounds.from) w.receivedAtGTE = bounds.from.toISOString();
  if (bounds.to) w.receivedAtLT = bounds.to.toISOString();
  return w;
}

export function DeliveriesRoute() {
  const [params, setParams] = useSearchParams();
  const [range] = useTimeRange();
  const [reload, setReload] = useState(0);
  const filters = parseDeliveryFilters(params);
  const bounds = useResolvedTimeRange(range, reload);
  const where = deliveryWhere(filters, bounds);
  const list = useDeliveries(where);
  // Live: every new event is a new delivery; deliveries have no stream of their own, so a
  // new event reloads the first page and the counts (at most every two seconds), keeping
  // the rows on screen until the new ones arrive. Duplicates and rejections show with it.
  const [live, setLive] = useLiveMode();
  const [liveTick, setLiveTick] = useState(0);
  const counts = useDeliveryCounts(where, reload, liveTick);
  const liveAvailable = bounds.to === null;
  const { refresh } = list;
  const arrivals = useLiveArrivals({
    enabled: liveAvailable,
    hold: !live,
    batchMs: 2000,
    match: () => true,
    deliver: () => {
      refresh();
      setLiveTick((n) => n + 1);
    },
  });
  const set = (f: DeliveryFilters) =>
    setParams((p) => {
      const n = new URLSearchParams(p);
      if (f.outcome) n.set("outcome", f.outcome);
      else n.delete("outcome");
      if (f.remote) n.set("remote", f.remote);
      else n.delete("remote");
      return n;
    });

  return (
    <div className="deliveries-page">
      <EventTabs />
      <div className="result-bar">
        <LiveControl
          available={liveAvailable}
          live={live}
          onLiveChange={(next) => {
            setLive(next);
            if (next) arrivals.release();
          }}
          held={arrivals.held}
          onShow={arrivals.release}
          noun="event"
        />
      </div>
      <div className="outcome-counts" role="group" aria-label="Deliveries by outcome" data-testid="outcome-counts">
        {counts.error && <ErrorState error={counts.error} title="Could not count deliveries" />}
        {deliveryOutcomes.map((o) => {
          const n = counts.counts?.get(o);
          if (n === 0 && o !== "accepted") return null;
          return (
            <button
              key={o}
              type="button"
              className={`outcome-count ${filters.outcome === o ? "selected" : ""}`}
              aria-pressed={filters.outcome === o}
              onClick={() => set({ ...filters, outcome: filters.outcome === o ? "" : o })}
            >
              <span className={`badge outcome-${o}`}>{o.replaceAll("_", " ")}</span>
              <strong data-testid={`count-${o}`}>{n === undefined ? "…" : formatNumber(n)}</strong>
            </button>
          );
        })}
      </div>
      <form
        key={params.toString()}
        className="filters"
        role="search"
        aria-label="Filter deliveries"
        onSubmit={(e) => {
          e.preventDefault();
          const remote = new FormData(e.currentTarget).get("remote");
          set({ ...filters, remote: typeof remote === "string" ? remote.trim() : "" });
        }}
      >
        <div className="field">
          <label htmlFor="d-outcome">Outcome</label>
          <select id="d-outcome" value={filters.outcome} onChange={(e) => set({ ...filters, outcome: deliveryOutcomes.find((x) => x === e.target.value) ?? "" })}>
            <option value="">Any outcome</option>
            {deliveryOutcomes.map((o) => (
              <option key={o} value={o}>
                {o.replaceAll("_", " ")}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor="d-remote">Remote address starts with</label>
          <input id="d-remote" name="remote" defaultValue={filters.remote} spellCheck={false} placeholder="203.0.113." />
        </div>
        <div className="field actions">
          <button type="submit" className="button primary">
            Apply
          </button>
          <button
            type="button"
            className="button ghost"
            onClick={() => {
              arrivals.discard();
              setReload((n) => n + 1);
            }}
          >
            Refresh
          </button>
        </div>
      </form>

      {list.error ? (
        <ErrorState error={list.error} title="Could not load deliveries" onRetry={list.reload} />
      ) : list.nodes.length === 0 && list.loading ? (
        <Loading label="Loading deliveries…" />
      ) : list.nodes.length === 0 ? (
        <EmptyState title="No deliveries match." />
      ) : (
        <div className="table-wrap" id="delivery-list" tabIndex={0} role="region" aria-label="Deliveries">
          <table className="data-table" data-testid="delivery-table">
            <caption className="muted">
              {list.nodes.length} of {formatNumber(list.totalCount ?? 0)} deliveries, newest first
            </caption>
            <thead>
              <tr>
                <th scope="col">Received</th>
                <th scope="col">Outcome</th>
                <th scope="col">Status</th>
                <th scope="col">Latency</th>
                <th scope="col">From</th>
                <th scope="col">Topic header</th>
                <th scope="col">Event</th>
                <th scope="col">Size</th>
                <th scope="col">Request id</th>
              </tr>
            </thead>
            <tbody>
              {list.nodes.map((d) => (
                <tr key={d.id} data-testid="delivery-row">
                  <td>{formatTime(d.receivedAt)}</td>
                  <td>
                    <span className={`badge outcome-${d.outcome}`}>{d.outcome.replaceAll("_", " ")}</span>
                    {d.reason && <div className="muted small">{d.reason}</div>}
                  </td>
                  <td className="num">{d.statusCode}</td>
                  <td className="num">{formatMs(d.latencyMs)}</td>
                  <td title={d.userAgent ?? undefined}>
                    <code>{d.remoteAddr ?? "—"}</code>
                  </td>
                  <td>{d.topicHeader ?? "—"}</td>
                  <td>
                    {d.dwollaEventID ? (
                      <Link to={`/events?event=${d.dwollaEventID}&range=all`}>
                        <code>{d.dwollaEventID.slice(0, 8)}…</code>
                      </Link>
                    ) : (
                      "—"
                    )}
                  </td>
                  <td className="num">{formatBytes(d.bodySize)}</td>
                  <td>
                    <code className="small">{d.requestID ?? "—"}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
          {list.hasMore && (
            <button type="button" className="button" onClick={list.loadMore} disabled={list.loading}>
              {list.loading ? "Loading…" : "Load more"}
            </button>
          )}
        </div>
      )}
    </div>
  );
}
