// The pages in the navigation. A page is listed only once the server has
// the API behind it: the dashboard never shows mock data.
export interface NavItem {
  to: string;
  label: string;
  /** Only admins see it. */
  admin?: boolean;
  /** Carries the time range along when followed. */
  timeRange?: boolean;
}

export const navItems: NavItem[] = [
  { to: "/", label: "Overview", timeRange: true },
  { to: "/events", label: "Events", timeRange: true },
  { to: "/journeys", label: "Journeys", timeRange: true },
  { to: "/customers", label: "Customers" },
  { to: "/reconciliation", label: "Reconciliation" },
  { to: "/alerts", label: "Anomalies & alerts" },
  { to: "/monitor", label: "Monitor" },
  { to: "/settings", label: "Settings", admin: true },
  { to: "/playground", label: "Playground" },
];

/** Links keep the shared time range (range, from, to) and nothing else. */
export function navSearch(current: URLSearchParams, item: NavItem): string {
  if (!item.timeRange) return "";
  const next = new URLSearchParams();
  for (const k of ["range", "from", "to"]) {
    const v = current.get(k);
    if (v) next.set(k, v);
  }
  const s = next.toString();
  return s ? `?${s}` : "";
}
