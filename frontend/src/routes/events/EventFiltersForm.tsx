// The log's filters. The form is uncontrolled and keyed by the URL, so the
// URL stays the only source of truth (back and forward just work).
import { useRef } from "react";
import { Link } from "react-router";
import type { EventFilters } from "../../lib/eventFilters";
import { processingStates } from "../../lib/eventFilters";

export interface TopicOption {
  name: string;
  family: string;
  seen: number;
  known: boolean;
}

/** Useful prefixes for the topics seen: "customer_", "customer_transfer_", … */
export function topicPrefixes(topics: readonly { name: string }[]): string[] {
  const out = new Set<string>();
  for (const t of topics) {
    const parts = t.name.split("_");
    for (let i = 1; i < parts.length; i++) out.add(`${parts.slice(0, i).join("_")}_`);
  }
  return [...out].sort();
}

function groupByFamily(topics: readonly TopicOption[]): [string, TopicOption[]][] {
  const groups = new Map<string, TopicOption[]>();
  for (const t of topics) {
    const family = t.known ? t.family || "other" : "unknown topics";
    const list = groups.get(family) ?? [];
    list.push(t);
    groups.set(family, list);
  }
  return [...groups.entries()].sort(([a], [b]) => a.localeCompare(b));
}

export function EventFiltersForm({
  filters,
  topics,
  onChange,
  onClear,
}: {
  filters: EventFilters;
  topics: readonly TopicOption[];
  onChange: (filters: EventFilters) => void;
  onClear: () => void;
}) {
  const formRef = useRef<HTMLFormElement>(null);
  const read = (form: HTMLFormElement): EventFilters => {
    const data = new FormData(form);
    const get = (k: string) => {
      const v = data.get(k);
      return typeof v === "string" ? v.trim() : "";
    };
    const state = get("state");
    return {
      q: get("q"),
      topic: get("topic"),
      topicPrefix: get("topicPrefix"),
      resourceID: get("resourceID"),
      customerID: get("customerID"),
      correlationID: get("correlationID"),
      state: (processingStates as readonly string[]).includes(state) ? (state as EventFilters["state"]) : "",
    };
  };
  // Selects are controlled by the URL (their options arrive later than the
  // URL) and apply at once; text fields apply on Enter or Apply.
  const applyNow = (patch: Partial<EventFilters>) => {
    if (formRef.current) onChange({ ...read(formRef.current), ...patch });
  };
  const topicKnown = filters.topic === "" || topics.some((t) => t.name === filters.topic);

  return (
    <form
      ref={formRef}
      className="filters"
      role="search"
      aria-label="Filter events"
      onSubmit={(e) => {
        e.preventDefault();
        onChange(read(e.currentTarget));
      }}
    >
      <div className="field grow">
        <label htmlFor="f-q">Search</label>
        <input id="f-q" name="q" type="search" defaultValue={filters.q} placeholder="Event, resource, customer or correlation id, topic" />
      </div>
      <div className="field">
        <label htmlFor="f-topic">Topic</label>
        <select id="f-topic" name="topic" value={filters.topic} onChange={(e) => applyNow({ topic: e.target.value })}>
          <option value="">Any topic</option>
          {!topicKnown && <option value={filters.topic}>{filters.topic}</option>}
          {groupByFamily(topics).map(([family, list]) => (
            <optgroup key={family} label={family}>
              {list.map((t) => (
                <option key={t.name} value={t.name}>
                  {t.name} ({t.seen})
                </option>
              ))}
            </optgroup>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="f-prefix">Topic prefix</label>
        <input id="f-prefix" name="topicPrefix" list="f-prefixes" defaultValue={filters.topicPrefix} placeholder="customer_transfer_" />
        <datalist id="f-prefixes">
          {topicPrefixes(topics).map((p) => (
            <option key={p} value={p} />
          ))}
        </datalist>
      </div>
      <div className="field">
        <label htmlFor="f-state">Processing state</label>
        <select
          id="f-state"
          name="state"
          value={filters.state}
          onChange={(e) => applyNow({ state: (processingStates as readonly string[]).includes(e.target.value) ? (e.target.value as EventFilters["state"]) : "" })}
        >
          <option value="">Any state</option>
          {processingStates.map((s) => (
            <option key={s} value={s}>
              {s}
            </option>
          ))}
        </select>
      </div>
      <div className="field">
        <label htmlFor="f-resource">Resource id</label>
        <input id="f-resource" name="resourceID" defaultValue={filters.resourceID} spellCheck={false} />
      </div>
      <div className="field">
        <label htmlFor="f-customer">Customer id</label>
        <input id="f-customer" name="customerID" defaultValue={filters.customerID} spellCheck={false} />
        {filters.customerID && (
          <Link to={`/customers/${encodeURIComponent(filters.customerID)}`} className="field-hint">
            Open the customer view
          </Link>
        )}
      </div>
      <div className="field">
        <label htmlFor="f-correlation">Correlation id</label>
        <input id="f-correlation" name="correlationID" defaultValue={filters.correlationID} spellCheck={false} />
      </div>
      <div className="field actions">
        <button type="submit" className="button primary">
          Apply
        </button>
        <button type="button" className="button ghost" onClick={onClear}>
          Clear
        </button>
      </div>
    </form>
  );
}
