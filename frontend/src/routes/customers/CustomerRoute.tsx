// One customer's view: status and type, funding sources, transfers with
// amounts and outcomes, money, journeys, the event timeline and open
// findings, refreshed as the customer's events are processed.
import { useCallback, useEffect, useRef } from "react";
import { Link, useParams } from "react-router";
import { useCustomer } from "../../api/customers";
import { useEventStream } from "../../api/live";
import { EmptyState, ErrorState, Loading } from "../../components/States";
import type { CustomerPageQuery, EventListItemFragment } from "../../gql/graphql";
import { formatTime } from "../../lib/format";

type Profile = NonNullable<CustomerPageQuery["customer"]>;

/** Enrichment trails the events by a few seconds: ask again after it. */
const enrichmentDelayMs = 6000;

export function CustomerRoute() {
  const { id = "" } = useParams();
  const { customer, enrichment, loaded, error, refresh } = useCustomer(id);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const onEvent = useCallback(
    (event: EventListItemFragment) => {
      if (event.customerID !== id) return;
      refresh();
      if (timer.current) clearTimeout(timer.current);
      timer.current = setTimeout(refresh, enrichmentDelayMs);
    },
    [id, refresh],
  );
  useEffect(() => () => {
    if (timer.current) clearTimeout(timer.current);
  }, []);
  useEventStream("processed", null, onEvent);

  if (error && !loaded) return <ErrorState error={error} title="Could not load the customer" onRetry={refresh} />;
  if (!loaded) return <Loading label="Loading the customer…" />;
  if (!customer)
    return (
      <EmptyState title="No event or snapshot names this customer">
        <p>
          <Link to="/customers">Find another customer</Link>
        </p>
      </EmptyState>
    );
  return (
    <div className="customer-page" data-testid="customer">
      {enrichment && !enrichment.enabled && (
        <p className="notice" role="status">
          Enrichment is off: set DWOLLA_KEY and DWOLLA_SECRET to see amounts, statuses and return codes.
        </p>
      )}
      <Summary customer={customer} />
      <Sources customer={customer} />
      <Transfers customer={customer} />
      <Journeys customer={customer} />
      <Events customer={customer} />
      <Findings customer={customer} />
    </div>
  );
}

function Summary({ customer }: { customer: Profile }) {
  const m = customer.money;
  return (
    <section className="card" aria-labelledby="customer-title">
      <h2 id="customer-title">
        Customer <code>{customer.id}</code>
      </h2>
      <dl className="fields">
        {customer.displayName && (
          <>
            <dt>Name</dt>
            <dd>{customer.displayName}</dd>
          </>
        )}
        <dt>Status</dt>
        <dd data-testid="customer-status">{customer.status || <span className="muted">not fetched ({customer.enrichment || "no snapshot"})</span>}</dd>
        <dt>Type</dt>
        <dd data-testid="customer-type">{customer.type || <span className="muted">unknown</span>}</dd>
        <dt>Transfers (30 days)</dt>
        <dd>
          {m.total.count} for {m.total.amount} {m.currency}
        </dd>
        <dt>In flight</dt>
        <dd>
          {m.inFlight.count} for {m.inFlight.amount} {m.currency}
        </dd>
        <dt>Failed</dt>
        <dd>
          {m.failed.count} for {m.failed.amount} {m.currency}
          {m.returnCodes.length > 0 && (
            <span className="muted">
              {" "}
              — {m.returnCodes.map((rc) => `${rc.code} ${rc.description} ×${rc.count}`).join(", ")}
            </span>
          )}
        </dd>
      </dl>
    </section>
  );
}

function Sources({ customer }: { customer: Profile }) {
  return (
    <section className="card" aria-labelledby="sources-title">
      <h2 id="sources-title">Funding sources</h2>
      {customer.fundingSources.length === 0 ? (
        <p className="muted">None known yet.</p>
      ) : (
        <div className="table-wrap">
          <table className="data-table" data-testid="customer-sources">
            <thead>
              <tr>
                <th>Id</th>
                <th>Type</th>
                <th>Status</th>
              </tr>
            </thead>
            <tbody>
              {customer.fundingSources.map((fs) => (
                <tr key={fs.id}>
                  <td>
                    <code>{fs.id}</code> {fs.displayName}
                  </td>
                  <td>
                    {fs.type} {fs.bankAccountType}
                  </td>
                  <td>
                    {fs.status}
                    {fs.removed && <span className="badge state-failed"> removed</span>}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Transfers({ customer }: { customer: Profile }) {
  return (
    <section className="card" aria-labelledby="transfers-title">
      <h2 id="transfers-title">Transfers</h2>
      {customer.transfers.length === 0 ? (
        <p className="muted">None known yet.</p>
      ) : (
        <div className="table-wrap">
          <table className="data-table" data-testid="customer-transfers">
            <thead>
              <tr>
                <th>Created</th>
                <th>Direction</th>
                <th>Amount</th>
                <th>Outcome</th>
                <th>Id</th>
              </tr>
            </thead>
            <tbody>
              {customer.transfers.map((t) => (
                <tr key={t.id}>
                  <td>{formatTime(t.created)}</td>
                  <td>
                    {t.direction}
                    {t.counterparty && (
                      <>
                        {" "}
                        <Link to={`/customers/${t.counterparty}`}>{t.direction === "sent" ? "to" : "from"} customer</Link>
                      </>
                    )}
                  </td>
                  <td>
                    {t.amount} {t.currency}
                  </td>
                  <td>
                    <span className={`badge state-${t.status === "failed" ? "failed" : t.status === "processed" ? "processed" : "queued"}`}>{t.status}</span>
                    {t.failureCode && (
                      <span title={t.failureDescription}>
                        {" "}
                        {t.failureCode} {t.failureDescription}
                        {t.lateReturn && " (late return)"}
                      </span>
                    )}
                  </td>
                  <td>
                    <code>{t.id}</code>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}

function Journeys({ customer }: { customer: Profile }) {
  return (
    <section className="card" aria-labelledby="journeys-title">
      <h2 id="journeys-title">Journeys</h2>
      {customer.journeys.length === 0 ? (
        <p className="muted">None.</p>
      ) : (
        <ul data-testid="customer-journeys">
          {customer.journeys.map((j) => (
            <li key={j.id}>
              {j.definition}: {j.status}
              {j.step && ` at ${j.step}`}, started {formatTime(j.startedAt)}
              {j.endedAt && `, ended ${formatTime(j.endedAt)}`}
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

function Events({ customer }: { customer: Profile }) {
  return (
    <section className="card" aria-labelledby="events-title">
      <h2 id="events-title">
        Events <Link to={`/events?customerID=${encodeURIComponent(customer.id)}`}>(in the events list)</Link>
      </h2>
      {customer.events.length === 0 ? (
        <p className="muted">None stored.</p>
      ) : (
        <ol data-testid="customer-events">
          {customer.events.map((e) => (
            <li key={e.id}>
              {formatTime(e.createdAt)} <code>{e.topic}</code> <span className="muted">{e.resourceId}</span>
            </li>
          ))}
        </ol>
      )}
    </section>
  );
}

function Findings({ customer }: { customer: Profile }) {
  if (customer.findings.length === 0) return null;
  return (
    <section className="card" aria-labelledby="findings-title">
      <h2 id="findings-title">Open findings</h2>
      <ul>
        {customer.findings.map((f) => (
          <li key={f.id}>
            {f.kind}: <code>{f.subject}</code>
          </li>
        ))}
      </ul>
    </section>
  );
}
