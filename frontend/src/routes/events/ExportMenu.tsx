// Downloads the events matching the log's filters from the streamed REST
// export. Plain links: the browser streams the file to disk with the
// session cookie, however long it is.
import { useId } from "react";
import { exportBlockedReason, exportFormats, exportURL, type EventFilters } from "../../lib/eventFilters";

const formatLabels: Record<(typeof exportFormats)[number], string> = {
  csv: "CSV",
  json: "JSON",
  ndjson: "NDJSON",
};

export function ExportMenu({ filters, bounds }: { filters: EventFilters; bounds: { from: Date | null; to: Date | null } }) {
  const blocked = exportBlockedReason(filters);
  const reasonId = useId();
  return (
    <span className="export-menu" role="group" aria-label="Export the matching events" data-testid="export">
      <span className="muted small">Export</span>
      {exportFormats.map((f) =>
        blocked ? (
          <button key={f} type="button" className="button small" aria-disabled="true" title={blocked} aria-describedby={reasonId} data-testid={`export-${f}`}>
            {formatLabels[f]}
          </button>
        ) : (
          <a key={f} className="button small" href={exportURL(filters, bounds, f)} download data-testid={`export-${f}`}>
            {formatLabels[f]}
          </a>
        ),
      )}
      {blocked && (
        <span id={reasonId} className="visually-hidden">
          {blocked}
        </span>
      )}
    </span>
  );
}
