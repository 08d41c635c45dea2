// Pure helpers behind the real-time monitor: a bounded, newest-first buffer
// and an events-per-second meter computed from arrival times.

/** Puts items (oldest first) on top of list, keeping at most max, newest first. */
export function prependBounded<T>(list: readonly T[], items: readonly T[], max: number): T[] {
  if (max <= 0) return [];
  const incoming = items.slice(-max).reverse();
  return incoming.concat(list.slice(0, Math.max(0, max - incoming.length)));
}

/** Arrival times within the window ending at now; older ones are dropped. */
export function pruneArrivals(arrivals: readonly number[], now: number, windowMs: number): number[] {
  const cutoff = now - windowMs;
  let i = 0;
  while (i < arrivals.length && (arrivals[i] ?? 0) <= cutoff) i++;
  return i === 0 ? arrivals.slice() : arrivals.slice(i);
}

/**
 * Events per second over the window ending at now. While the stream is
 * younger than the window, divides by its age so the first seconds are not
 * understated.
 */
export function ratePerSecond(arrivals: readonly number[], now: number, windowMs: number, since: number): number {
  const recent = pruneArrivals(arrivals, now, windowMs);
  const span = Math.min(windowMs, Math.max(1000, now - since));
  return (recent.length * 1000) / span;
}
