// Whether a page follows new events as they arrive, with a pause, and how
// many arrived while it was paused (click to show them).
import { formatNumber } from "../lib/format";

export function LiveControl({
  available,
  live,
  onLiveChange,
  held,
  onShow,
  noun,
}: {
  /** False when the range ends in the past: nothing new can join it. */
  available: boolean;
  live: boolean;
  onLiveChange: (live: boolean) => void;
  held: number;
  onShow: () => void;
  /** What arrives, singular ("event"). */
  noun: string;
}) {
  if (!available) {
    return (
      <span className="muted small" data-testid="live-state">
        Not live: the range ends in the past
      </span>
    );
  }
  return (
    <span className="live-control">
      <span className={`live-dot${live ? " connected" : ""}`} data-testid="live-state">
        {live ? "Live" : "Paused"}
      </span>
      <button type="button" className="button small" onClick={() => onLiveChange(!live)} data-testid="live-toggle">
        {live ? "Pause" : "Resume"}
      </button>
      {held > 0 && (
        <button type="button" className="button small primary" onClick={onShow} data-testid="live-new">
          {formatNumber(held)} new {noun}
          {held === 1 ? "" : "s"} · show
        </button>
      )}
    </span>
  );
}
