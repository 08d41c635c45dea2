import { isRouteErrorResponse, Link, useRouteError } from "react-router";
import { toApiError } from "../api/errors";
import { EmptyState, ErrorState } from "../components/States";

/** Shown when a route's loader or component fails. */
export function RouteError() {
  const error = useRouteError();
  if (isRouteErrorResponse(error)) {
    return (
      <main id="main" className="centered">
        <EmptyState title={`${error.status} ${error.statusText}`}>
          <Link to="/">Back to the dashboard</Link>
        </EmptyState>
      </main>
    );
  }
  return (
    <main id="main" className="centered">
      <ErrorState error={toApiError(error)} title="This page failed to load" onRetry={() => window.location.reload()} />
    </main>
  );
}

export function NotFound() {
  return (
    <EmptyState title="There is no page here.">
      <p>
        <Link to="/events">Go to the events log</Link>
      </p>
    </EmptyState>
  );
}
