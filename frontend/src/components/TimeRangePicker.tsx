// The time range, kept in the URL (?range=… or ?from=…&to=…).
import { useState } from "react";
import { useSearchParams } from "react-router";
import { parseTimeRange, presets, resolveTimeRange, writeTimeRange, type PresetKey, type TimeRange } from "../lib/timeRange";

/** yyyy-MM-ddTHH:mm in local time, the format of datetime-local inputs. */
function toLocalInput(d: Date | null): string {
  if (!d) return "";
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

function fromLocalInput(v: string): Date | null {
  if (!v) return null;
  const d = new Date(v);
  return Number.isNaN(d.getTime()) ? null : d;
}

export function useTimeRange(): [TimeRange, (range: TimeRange) => void] {
  const [params, setParams] = useSearchParams();
  const range = parseTimeRange(params);
  const set = (next: TimeRange) => setParams((p) => writeTimeRange(p, next));
  return [range, set];
}

export interface ResolvedRange {
  from: Date | null;
  to: Date | null;
  /** When a relative range was pinned to the clock. */
  asOf: Date;
}

/**
 * Pins the range to the clock once per URL (and again when reload
 * changes), so "last hour" does not move on every render and every query
 * of a page uses the same bounds.
 */
export function useResolvedTimeRange(range: TimeRange, reload = 0): ResolvedRange {
  const key = JSON.stringify([range, reload]);
  const [state, setState] = useState<(ResolvedRange & { key: string }) | null>(null);
  if (!state || state.key !== key) {
    const asOf = new Date();
    const next = { key, asOf, ...resolveTimeRange(range, asOf) };
    setState(next);
    return next;
  }
  return state;
}

export function TimeRangePicker() {
  const [range, setRange] = useTimeRange();
  const [editing, setEditing] = useState(false);
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const selectValue = editing || range.kind === "custom" ? "custom" : range.key;

  return (
    <div className="time-range" role="group" aria-label="Time range">
      <label htmlFor="time-range-select" className="visually-hidden">
        Time range
      </label>
      <select
        id="time-range-select"
        value={selectValue}
        onChange={(e) => {
          const v = e.target.value;
          if (v === "custom") {
            const now = new Date();
            setFrom(toLocalInput(range.kind === "custom" ? range.from : new Date(now.getTime() - 24 * 3600_000)));
            setTo(toLocalInput(range.kind === "custom" ? range.to : now));
            setEditing(true);
            return;
          }
          setEditing(false);
          setRange({ kind: "preset", key: v as PresetKey });
        }}
      >
        {presets.map((p) => (
          <option key={p.key} value={p.key}>
            {p.label}
          </option>
        ))}
        <option value="custom">Custom range…</option>
      </select>
      {(editing || range.kind === "custom") && (
        <form
          className="time-range-custom"
          onSubmit={(e) => {
            e.preventDefault();
            setRange({ kind: "custom", from: fromLocalInput(from), to: fromLocalInput(to) });
            setEditing(false);
          }}
        >
          <label>
            From{" "}
            <input
              type="datetime-local"
              value={editing ? from : toLocalInput(range.kind === "custom" ? range.from : null)}
              onChange={(e) => {
                if (!editing) {
                  setTo(toLocalInput(range.kind === "custom" ? range.to : null));
                  setEditing(true);
                }
                setFrom(e.target.value);
              }}
            />
          </label>
          <label>
            To{" "}
            <input
              type="datetime-local"
              value={editing ? to : toLocalInput(range.kind === "custom" ? range.to : null)}
              onChange={(e) => {
                if (!editing) {
                  setFrom(toLocalInput(range.kind === "custom" ? range.from : null));
                  setEditing(true);
                }
                setTo(e.target.value);
              }}
            />
          </label>
          <button type="submit" className="button">
            Apply
          </button>
        </form>
      )}
    </div>
  );
}
