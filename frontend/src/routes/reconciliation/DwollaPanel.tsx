import type { ReconciliationOverviewQuery } from "../../gql/graphql";
import { CopyButton } from "../../components/CopyButton";
import { formatTime } from "../../lib/format";

type Status = ReconciliationOverviewQuery["dwollaStatus"];

/** Whether hooklens can reach Dwolla's API and our webhook subscription is active. */
export function DwollaPanel({ status }: { status: Status }) {
  return (
    <section className="card" aria-labelledby="dwolla-title" data-testid="dwolla">
      <h2 id="dwolla-title">Dwolla</h2>
      <dl className="fields">
        <dt>API</dt>
        <dd>
          {status.configured ? (
            <>
              configured <code>{status.apiURL}</code>
              {status.breaker && <span className={`breaker breaker-${status.breaker}`}> {status.breaker}</span>}
            </>
          ) : (
            <span className="muted">not configured — sync and the Dwolla-side checks are off</span>
          )}
        </dd>
        <dt>Webhook URL</dt>
        <dd>
          <code className="wrap">{status.webhookURL}</code> <CopyButton text={status.webhookURL} label="Copy" />
        </dd>
        <dt>Subscription</dt>
        <dd>
          {status.subscription ? (
            <>
              <span className={`badge ${status.subscription.paused ? "state-failed" : "token-active"}`}>
                {status.subscription.paused ? "paused" : "active"}
              </span>{" "}
              <code>{status.subscription.id}</code> since {formatTime(status.subscription.created)}
            </>
          ) : (
            <span className="muted">none found</span>
          )}
        </dd>
        {status.error && (
          <>
            <dt>Problem</dt>
            <dd className="error-message">{status.error}</dd>
          </>
        )}
      </dl>
    </section>
  );
}
