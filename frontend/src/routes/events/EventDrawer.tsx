// One event in full: what hooklens parsed, Dwolla's topic, the payload, the
// raw body as received, and every delivery of it (accepted, duplicate or
// rejected).
import { useState } from "react";
import { Link } from "react-router";
import { JourneyStatus, Progress } from "../journeys/JourneyTable";
import { apiErrorFromCombined, type ApiError } from "../../api/errors";
import { useEventDetail } from "../../api/events";
import { useReplayEvent } from "../../api/pipeline";
import { useIsAdmin } from "../../api/sessionContext";
import type { EventDetailQuery } from "../../gql/graphql";
import { CopyButton } from "../../components/CopyButton";
import { Drawer } from "../../components/Drawer";
import { StateBadge } from "../../components/EventTable";
import { JsonTree } from "../../components/JsonTree";
import { EmptyState, ErrorState, Loading } from "../../components/States";
import { formatBytes, formatMs, formatTime } from "../../lib/format";

type EventDetail = NonNullable<EventDetailQuery["event"]>;
type Delivery = NonNullable<NonNullable<NonNullable<EventDetailQuery["deliveries"]["edges"]>[number]>["node"]>;

function Field({ label, children }: { label: string; children: React.ReactNode }) {
  return (
    <>
      <dt>{label}</dt>
      <dd>{children ?? "—"}</dd>
    </>
  );
}

function Id({ value }: { value: string | null | undefined }) {
  return value ? <code className="wrap">{value}</code> : <span className="muted">—</span>;
}

function ReplayButton({ id, onReplayed }: { id: string; onReplayed: () => void }) {
  const [{ fetching, data }, replay] = useReplayEvent();
  const [error, setError] = useState<ApiError | null>(null);
  return (
    <div className="replay">
      <button
        type="button"
        className="button"
        disabled={fetching}
        data-testid="replay-event"
        onClick={() => {
          setError(null);
          void replay({ id }).then((res) => {
            if (res.error) setError(apiErrorFromCombined(res.error));
            else onReplayed();
          });
        }}
      >
        {fetching ? "Replaying…" : "Replay this event"}
      </button>
      {data && !error && (
        <span className="muted" role="status">
          {" "}
          Sent back through the pipeline ({data.replayEvent.processingState}).
        </span>
      )}
      {error && <ErrorState error={error} title="Could not replay the event" />}
    </div>
  );
}

function Summary({ event }: { event: EventDetail }) {
  return (
    <dl className="fields">
      <Field label="Event id">
        <Id value={event.eventID} />
      </Field>
      <Field label="Topic">
        {event.topic}
        {event.topicMismatch && (
          <span className="badge warn" title="X-Dwolla-Topic differs from the body">
            header said {event.headerTopic}
          </span>
        )}
      </Field>
      <Field label="Resource">
        {event.resourceType && <span className="muted">{event.resourceType} </span>}
        <Id value={event.resourceID} />
      </Field>
      <Field label="Customer">
        <Id value={event.customerID} />
        {event.customerID && (
          <>
            {" "}
            <Link to={`/customers/${encodeURIComponent(event.customerID)}`}>customer view</Link>
          </>
        )}
      </Field>
      <Field label="Account">
        <Id value={event.accountID} />
      </Field>
      <Field label="Correlation id">
        <Id value={event.correlationID} />
      </Field>
      <Field label="Created by Dwolla">{formatTime(event.createdAt)}</Field>
      <Field label="First received">{formatTime(event.receivedAt)}</Field>
      <Field label="Last delivery">{formatTime(event.lastDeliveryAt)}</Field>
      <Field label="Source">{event.source}</Field>
      <Field label="Deliveries">{event.deliveryCount}</Field>
      <Field label="Processing">
        <StateBadge state={event.processingState} /> {event.attempts} attempt{event.attempts === 1 ? "" : "s"}
        {event.processedAt && <span className="muted"> · processed {formatTime(event.processedAt)}</span>}
        {event.processingDurationMs !== null && event.processingDurationMs !== undefined && (
          <span className="muted"> in {formatMs(event.processingDurationMs)}</span>
        )}
      </Field>
      {event.lastError && (
        <Field label="Last error">
          <span className="error-message">{event.lastError}</span>
        </Field>
      )}
      <Field label="Body">
        {formatBytes(event.bodySize)} · SHA-256 <code className="wrap">{event.bodySha256}</code>
      </Field>
    </dl>
  );
}

function TopicInfo({ event }: { event: EventDetail }) {
  const t = event.topicInfo;
  if (!t) {
    return <p className="muted">This topic is not in hooklens&apos; catalogue; Dwolla may have added it.</p>;
  }
  return (
    <dl className="fields">
      <Field label="Meaning">{t.description}</Field>
      <Field label="Resource">{t.resource}</Field>
      <Field label="Family">{t.family}</Field>
      <Field label="Terminal">{t.terminal ? "yes" : "no"}</Field>
      <Field label="Outcome">{t.outcome ?? "—"}</Field>
    </dl>
  );
}

function Deliveries({ deliveries, total }: { deliveries: Delivery[]; total: number }) {
  if (deliveries.length === 0) return <EmptyState title="No deliveries recorded for this event." />;
  return (
    <div className="table-wrap">
      <table className="data-table" data-testid="deliveries">
        <caption className="muted">
          {total > deliveries.length ? `Latest ${deliveries.length} of ${total}` : `${total} deliver${total === 1 ? "y" : "ies"}`}
        </caption>
        <thead>
          <tr>
            <th scope="col">Received</th>
            <th scope="col">Outcome</th>
            <th scope="col">Status</th>
            <th scope="col">Latency</th>
            <th scope="col">From</th>
            <th scope="col">Request id</th>
          </tr>
        </thead>
        <tbody>
          {deliveries.map((d) => (
            <tr key={d.id}>
              <td>{formatTime(d.receivedAt)}</td>
              <td>
                <span className={`badge outcome-${d.outcome}`}>{d.outcome.replace("_", " ")}</span>
                {d.reason && <div className="muted small">{d.reason}</div>}
              </td>
              <td className="num">{d.statusCode}</td>
              <td className="num">{formatMs(d.latencyMs)}</td>
              <td>
                <code>{d.remoteAddr ?? "—"}</code>
              </td>
              <td>
                <code className="small">{d.requestID ?? "—"}</code>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

export function EventDrawer({ eventID, onClose }: { eventID: string; onClose: () => void }) {
  const { event, deliveries, deliveryCount, fetching, found, error, retry } = useEventDetail(eventID);
  const admin = useIsAdmin();
  return (
    <Drawer title={event ? event.topic : "Event"} onClose={onClose}>
      {error && <ErrorState error={error} title="Could not load the event" onRetry={retry} />}
      {!error && fetching && !event && <Loading label="Loading the event…" />}
      {!error && found === false && <EmptyState title={`No event with id ${eventID}.`} />}
      {event && (
        <div className="drawer-content" data-testid="event-drawer">
          <section aria-labelledby="sec-summary">
            <h3 id="sec-summary">Summary</h3>
            <Summary event={event} />
            {admin && <ReplayButton id={event.id} onReplayed={retry} />}
          </section>
          <section aria-labelledby="sec-topic">
            <h3 id="sec-topic">Topic</h3>
            <TopicInfo event={event} />
          </section>
          <section aria-labelledby="sec-journeys">
            <h3 id="sec-journeys">Journeys</h3>
            {event.journeys.length === 0 ? (
              <p className="muted">Not part of any journey{event.processingState === "processed" ? "." : " yet: journeys are updated when the event is processed."}</p>
            ) : (
              <ul className="linked-journeys" data-testid="event-journeys">
                {event.journeys.map((j) => (
                  <li key={j.id}>
                    <Link to={`/journeys?journey=${j.id}&range=all`}>{j.definition?.name ?? j.definitionKey}</Link>{" "}
                    <JourneyStatus status={j.status} /> <span className="muted">{j.currentStepName ?? ""}</span> <Progress value={j.progress} />
                  </li>
                ))}
              </ul>
            )}
          </section>
          <section aria-labelledby="sec-payload">
            <h3 id="sec-payload">Payload</h3>
            <JsonTree value={event.payload} label="Payload" />
          </section>
          <section aria-labelledby="sec-raw">
            <h3 id="sec-raw">Raw body</h3>
            <details>
              <summary>Exactly as received ({formatBytes(event.bodySize)})</summary>
              <pre className="raw" data-testid="raw-body">
                {event.rawBody}
              </pre>
              <CopyButton text={event.rawBody} label="Copy raw body" />
            </details>
          </section>
          <section aria-labelledby="sec-deliveries">
            <h3 id="sec-deliveries">Deliveries</h3>
            <Deliveries deliveries={deliveries} total={deliveryCount} />
          </section>
        </div>
      )}
    </Drawer>
  );
}
