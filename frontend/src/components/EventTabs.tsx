// Events and deliveries are two views of what Dwolla sent: tabs between
// them keep the time range.
import { NavLink, useSearchParams } from "react-router";

export function EventTabs() {
  const [params] = useSearchParams();
  const keep = new URLSearchParams();
  for (const k of ["range", "from", "to"]) {
    const v = params.get(k);
    if (v) keep.set(k, v);
  }
  const search = keep.toString() ? `?${keep.toString()}` : "";
  return (
    <nav className="tabs" aria-label="Events views">
      <NavLink to={`/events${search}`} end>
        Events
      </NavLink>
      <NavLink to={`/events/deliveries${search}`}>Deliveries</NavLink>
    </nav>
  );
}
