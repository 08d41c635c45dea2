// Light and dark themes: the system's choice by default, or the reader's,
// kept in localStorage. public/theme.js applies the same rule before the
// first paint (the CSP forbids inline scripts).

export type ThemePreference = "system" | "light" | "dark";
export type Theme = "light" | "dark";

export const themeStorageKey = "hooklens-theme";

export function parsePreference(v: string | null): ThemePreference {
  return v === "light" || v === "dark" ? v : "system";
}

export function resolveTheme(pref: ThemePreference, systemDark: boolean): Theme {
  if (pref === "system") return systemDark ? "dark" : "light";
  return pref;
}

/** The next preference when the toggle is pressed: system → light → dark → system. */
export function nextPreference(pref: ThemePreference): ThemePreference {
  return pref === "system" ? "light" : pref === "light" ? "dark" : "system";
}

export function readPreference(): ThemePreference {
  try {
    return parsePreference(localStorage.getItem(themeStorageKey));
  } catch {
    return "system";
  }
}

export function storePreference(pref: ThemePreference): void {
  try {
    if (pref === "system") localStorage.removeItem(themeStorageKey);
    else localStorage.setItem(themeStorageKey, pref);
  } catch {
    // Storage may be disabled; the choice then lasts for this page only.
  }
}

export function applyTheme(theme: Theme): void {
  document.documentElement.dataset.theme = theme;
  document.documentElement.style.colorScheme = theme;
}
