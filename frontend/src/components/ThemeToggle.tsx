import { useEffect, useState } from "react";
import { applyTheme, nextPreference, readPreference, resolveTheme, storePreference, type ThemePreference } from "../lib/theme";

const labels: Record<ThemePreference, string> = { system: "System", light: "Light", dark: "Dark" };
const icons: Record<ThemePreference, string> = { system: "◐", light: "☀", dark: "☾" };

function systemDark(): boolean {
  return typeof window.matchMedia === "function" && window.matchMedia("(prefers-color-scheme: dark)").matches;
}

/** Cycles the theme: follow the system, light, dark. */
export function ThemeToggle() {
  const [pref, setPref] = useState<ThemePreference>(readPreference);
  useEffect(() => {
    applyTheme(resolveTheme(pref, systemDark()));
    if (pref !== "system" || typeof window.matchMedia !== "function") return;
    const mq = window.matchMedia("(prefers-color-scheme: dark)");
    const follow = () => applyTheme(resolveTheme("system", mq.matches));
    mq.addEventListener("change", follow);
    return () => mq.removeEventListener("change", follow);
  }, [pref]);
  const next = nextPreference(pref);
  return (
    <button
      type="button"
      className="button ghost"
      onClick={() => {
        storePreference(next);
        setPref(next);
      }}
      aria-label={`Theme: ${labels[pref]}. Switch to ${labels[next]}`}
      title={`Theme: ${labels[pref]} (click for ${labels[next]})`}
      data-testid="theme-toggle"
    >
      <span aria-hidden="true">{icons[pref]}</span> <span className="theme-label">{labels[pref]}</span>
    </button>
  );
}
