// One journey: its step timeline, events that did not fit, notes, and its
// events (each opens in the events log).
import { Link } from "react-router";
import { useJourneyDetail } from "../../api/journeys";
import { Drawer } from "../../components/Drawer";
import { EmptyState, ErrorState, Loading } from "../../components/States";
import { formatSeconds, formatTime } from "../../lib/format";
import { JourneyStatus, Progress } from "./JourneyTable";

export function JourneyDrawer({ id, onClose }: { id: string; onClose: () => void }) {
  const { journey, found, fetching, error, retry } = useJourneyDetail(id);
  return (
    <Drawer title={journey?.definition?.name ?? "Journey"} onClose={onClose}>
      {error && <ErrorState error={error} title="Could not load the journey" onRetry={retry} />}
      {!error && fetching && !journey && <Loading label="Loading the journey…" />}
      {!error && found === false && <EmptyState title="This journey no longer exists." />}
      {journey && (
        <div className="drawer-content" data-testid="journey-drawer">
          <dl className="fields">
            <dt>Status</dt>
            <dd>
              <JourneyStatus status={journey.status} failedAfterSuccess={journey.failedAfterSuccess} outcome={journey.outcome} endTopic={journey.endTopic} />
            </dd>
            <dt>Progress</dt>
            <dd>
              <Progress value={journey.progress} />
            </dd>
            <dt>Correlation</dt>
            <dd>
              <code className="wrap">{journey.correlationKey}</code>
            </dd>
            <dt>Customers</dt>
            <dd>
              {journey.customerIDs.length
                ? journey.customerIDs.map((c) => (
                    <div key={c}>
                      <Link to={`/events?customer=${c}&range=all`}>
                        <code>{c}</code>
                      </Link>
                    </div>
                  ))
                : "—"}
            </dd>
            <dt>Started</dt>
            <dd>{formatTime(journey.startedAt)}</dd>
            <dt>Last event</dt>
            <dd>{formatTime(journey.lastEventAt)}</dd>
            {journey.endedAt && (
              <>
                <dt>Ended</dt>
                <dd>{formatTime(journey.endedAt)}</dd>
              </>
            )}
            {journey.stuckSince && (
              <>
                <dt>Stuck since</dt>
                <dd>{formatTime(journey.stuckSince)}</dd>
              </>
            )}
            {!journey.endedAt && journey.stuckAt && (
              <>
                <dt>Stuck at</dt>
                <dd>{formatTime(journey.stuckAt)} if nothing happens</dd>
              </>
            )}
            <dt>Definition</dt>
            <dd>
              {journey.definitionKey} v{journey.definitionVersion}
            </dd>
          </dl>
          {journey.notes.length > 0 && (
            <ul className="notes">
              {journey.notes.map((n) => (
                <li key={n}>{n}</li>
              ))}
            </ul>
          )}

          <h3>Steps</h3>
          <ol className="steps" data-testid="journey-steps">
            {journey.steps.map((s) => (
              <li key={s.key} className={s.reached ? "step reached" : s.missed ? "step missed" : "step"}>
                <span className="step-marker" aria-hidden="true">
                  {s.reached ? "●" : s.missed ? "◌" : "○"}
                </span>
                <div>
                  <strong>{s.name}</strong>
                  {s.optional && <span className="badge">optional</span>}
                  {s.missed && <span className="badge warn">missed</span>}
                  {s.reached && !s.withinLimit && <span className="badge warn">over its limit</span>}
                  {s.visits > 1 && <span className="badge">{s.visits} visits</span>}
                  <div className="muted small">
                    {s.reached ? (
                      <>
                        {formatTime(s.reachedAt)} · {s.topic}
                        {s.sincePreviousSeconds !== null && s.sincePreviousSeconds !== undefined && <> · +{formatSeconds(s.sincePreviousSeconds)}</>}
                        {s.eventID && (
                          <>
                            {" "}
                            · <Link to={`/events?event=${s.eventID}&range=all`}>event</Link>
                          </>
                        )}
                      </>
                    ) : (
                      "not reached"
                    )}
                    {s.limitSeconds !== null && s.limitSeconds !== undefined && <> · limit {formatSeconds(s.limitSeconds)}</>}
                  </div>
                </div>
              </li>
            ))}
          </ol>

          {journey.unexpected.length > 0 && (
            <>
              <h3>Events that did not fit</h3>
              <ul>
                {journey.unexpected.map((u) => (
                  <li key={u.eventID}>
                    <Link to={`/events?event=${u.eventID}&range=all`}>{u.topic}</Link> at {formatTime(u.at)}: {u.reason}
                  </li>
                ))}
              </ul>
            </>
          )}

          <h3>Events ({journey.events.length})</h3>
          <ul className="journey-events">
            {journey.events.map((e) => (
              <li key={e.id}>
                <Link to={`/events?event=${e.eventID}&range=all`}>{e.topic}</Link> <span className="muted">{formatTime(e.createdAt)}</span>
              </li>
            ))}
          </ul>
        </div>
      )}
    </Drawer>
  );
}
