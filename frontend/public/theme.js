// Applies the saved or system theme before the dashboard's script loads, so
// a dark page never flashes white. Mirrors src/lib/theme.ts.
(function () {
  var pref = null;
  try {
    pref = localStorage.getItem("hooklens-theme");
  } catch (e) {}
  var dark = pref === "dark" || (pref !== "light" && window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches);
  document.documentElement.dataset.theme = dark ? "dark" : "light";
  document.documentElement.style.colorScheme = dark ? "dark" : "light";
})();
