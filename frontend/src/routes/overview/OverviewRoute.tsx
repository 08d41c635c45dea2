// Everything at a glance over the URL's time range, each figure against the
// previous period of equal length, from the rollups (GraphQL overview). The
// granularity of the series follows the range.
import { useState } from "react";
import { Link } from "react-router";
import { useOverview } from "../../api/analytics";
import { useLiveArrivals, useLiveMode } from "../../api/liveArrivals";
import { LiveControl } from "../../components/LiveControl";
import { useAnalyticsWindow } from "../../api/events";
import { ErrorState, Loading } from "../../components/States";
import { useResolvedTimeRange, useTimeRange } from "../../components/TimeRangePicker";
import { formatTime } from "../../lib/format";
import { describeTimeRange, writeTimeRange } from "../../lib/timeRange";
import { BusinessRates } from "./BusinessRates";
import { ResourceBreakdown, TopicBreakdown } from "./Breakdowns";
import { KpiCards } from "./KpiCards";
import { LatencyTable } from "./LatencyTable";
import { SystemPanel } from "./SystemPanel";
import { VolumeChart } from "./VolumeChart";

export function OverviewRoute() {
  const [range, setRange] = useTimeRange();
  const [reload, setReload] = useState(0);
  const bounds = useResolvedTimeRange(range, reload);
  const win = useAnalyticsWindow(bounds);
  const current = useOverview(win.window);
  // Live: new events refresh the figures (at most every 15 s: they come from per-minute
  // rollups, which count a delivery about half a minute after it arrives). While refreshed
  // figures load, the ones shown stay (same range only).
  const [live, setLive] = useLiveMode();
  const liveAvailable = bounds.to === null;
  const arrivals = useLiveArrivals({
    enabled: liveAvailable,
    hold: !live,
    batchMs: 15_000,
    match: () => true,
    deliver: () => setReload((n) => n + 1),
  });
  const rangeKey = JSON.stringify(range);
  const [last, setLast] = useState<{ rangeKey: string; shown: typeof current } | null>(null);
  if (current.overview && current.overview !== last?.shown.overview) setLast({ rangeKey, shown: current });
  const keep = current.loading && !current.error && last?.rangeKey === rangeKey;
  const { overview, health, loading, error, retry } = keep && last ? last.shown : current;
  const rangeSearch = writeTimeRange(new URLSearchParams(), range).toString();
  const search = rangeSearch ? `?${rangeSearch}` : "";

  if (win.error) return <ErrorState error={win.error} title="Could not find the oldest event" onRetry={() => setReload((n) => n + 1)} />;
  if (error) return <ErrorState error={error} title="Could not load the overview" onRetry={retry} />;
  if (loading || !overview) return <Loading label="Loading the overview…" />;
  const o = overview;
  return (
    <div className="overview-page">
      <div className="result-bar" aria-live="polite">
        <span data-testid="overview-window">
          {describeTimeRange(range)}: {formatTime(o.from)} – {formatTime(o.to)}
        </span>
        <span className="muted"> · compared with {formatTime(o.previousFrom)} – {formatTime(o.from)} · per {o.granularity}</span>
        <span className="result-actions">
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
        </span>
      </div>
      <KpiCards overview={o} health={health} search={search} />
      <VolumeChart points={o.series} granularity={o.granularity} from={o.from} to={o.to} onZoom={(from, to) => setRange({ kind: "custom", from, to })} />
      <div className="two-col">
        <TopicBreakdown topics={o.byTopic} search={search} />
        <div className="stack">
          <ResourceBreakdown resources={o.byResourceType} />
          <SystemPanel queue={o.queue} />
        </div>
      </div>
      <div className="two-col">
        <BusinessRates rates={o.businessRates} />
        <LatencyTable processing={o.processingLatency} lag={o.deliveryLag} />
      </div>
      <p className="muted small">
        Figures come from per-minute rollups, so the window is widened to whole minutes. See <Link to={`/events${search}`}>the events</Link> for
        each one.
      </p>
    </div>
  );
}
