// Loading, empty and error states, used by every page so they look and read
// the same everywhere.
import type { ReactNode } from "react";
import type { ApiError } from "../api/errors";

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <div className="state state-loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

export function EmptyState({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state-empty">
      <p className="state-title">{title}</p>
      {children}
    </div>
  );
}

/** Shows the server's message, its code and the request id to quote when asking for help. */
export function ErrorState({ error, title = "Something went wrong", onRetry }: { error: ApiError; title?: string; onRetry?: () => void }) {
  return (
    <div className="state state-error" role="alert">
      <p className="state-title">{title}</p>
      <p className="error-message">{error.message}</p>
      <p className="error-meta">
        {error.code && <span>Code: <code>{error.code}</code></span>}
        {error.requestId && (
          <span>
            Request id: <code data-testid="request-id">{error.requestId}</code>
          </span>
        )}
      </p>
      {onRetry && (
        <button type="button" className="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}
