import { NavLink } from "react-router";

/** The settings pages. */
export function SettingsTabs() {
  return (
    <nav className="tabs" aria-label="Settings">
      <NavLink to="/settings/tokens">API tokens</NavLink>
      <NavLink to="/settings/audit">Audit log</NavLink>
    </nav>
  );
}
