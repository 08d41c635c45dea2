// Every main page at a phone's, a small laptop's and a large laptop's width,
// in both themes: nothing may scroll sideways, the navigation must be
// reachable (a menu on the phone), and the header must fit on one line.
// A screenshot of each page at each width and theme goes to
// test-results/screenshots/layout/.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import type { Browser, BrowserContext, Page } from "playwright-core";
import {
  deliver,
  flushRollups,
  inCI,
  launchBrowser,
  loadCaptures,
  missingPrerequisite,
  screenshotDir,
  simulate,
  startServer,
  type RunningServer,
} from "./harness.ts";

const missing = missingPrerequisite();
if (missing && inCI) throw new Error(`browser tests cannot run: ${missing}`);

/** The main routes, each with what shows once its data is loaded. */
export const mainRoutes: { name: string; path: string; ready: string }[] = [
  { name: "overview", path: "/", ready: '[data-testid="kpi-events-value"]' },
  { name: "events", path: "/events", ready: '[data-testid="event-row"]' },
  { name: "deliveries", path: "/events/deliveries", ready: '[data-testid="delivery-row"]' },
  { name: "journeys", path: "/journeys?range=all", ready: '[data-testid="journey-row"]' },
  { name: "definitions", path: "/journeys/definitions", ready: '[data-testid="definition"]' },
  { name: "reconciliation", path: "/reconciliation", ready: '[data-testid="dwolla"]' },
  { name: "alerts", path: "/alerts", ready: '[data-testid="alert-rule"]' },
  { name: "monitor", path: "/monitor", ready: '[data-testid="pipeline"]' },
  { name: "tokens", path: "/settings/tokens", ready: '[data-testid="token-row"]' },
  { name: "audit", path: "/settings/audit", ready: '[data-testid="audit-row"]' },
  { name: "playground", path: "/playground", ready: ".graphiql-container" },
];

const viewports = [
  { name: "phone", width: 390, height: 844 },
  { name: "small", width: 1024, height: 768 },
  { name: "laptop", width: 1440, height: 900 },
];

/** How far the page scrolls sideways, and what sticks out, if anything. */
async function overflow(page: Page): Promise<{ scrollWidth: number; innerWidth: number; culprits: string[] }> {
  return page.evaluate(() => {
    const innerWidth = window.innerWidth;
    const culprits: string[] = [];
    // The outermost elements that stick out past the right edge without a scrolling or clipping box around them.
    for (const el of Array.from(document.querySelectorAll("body *"))) {
      const r = el.getBoundingClientRect();
      if (r.width === 0 || r.right <= innerWidth + 1 || culprits.length >= 6) continue;
      let p = el.parentElement;
      let hidden = false;
      while (p && p !== document.body) {
        if (getComputedStyle(p).overflowX !== "visible" || p.getBoundingClientRect().right > innerWidth + 1) hidden = true;
        p = p.parentElement;
      }
      if (!hidden) culprits.push(`${el.tagName.toLowerCase()}.${String(el.className)} (right ${Math.round(r.right)})`);
    }
    return { scrollWidth: document.documentElement.scrollWidth, innerWidth, culprits };
  });
}

describe("the dashboard at every width", { skip: missing ?? false, timeout: 300_000 }, () => {
  let server: RunningServer;
  let browser: Browser;
  const pageErrors: string[] = [];

  before(async () => {
    server = await startServer();
    for (const hook of loadCaptures()) assert.equal(await deliver(server.baseURL, hook), 200);
    const sim = await simulate(server.baseURL, { rate: 50, duration: "2s", seed: 11 });
    assert.equal(sim.delivered, sim.events, sim.summary);
    await new Promise((r) => setTimeout(r, 2100));
    await flushRollups(server);
    browser = await launchBrowser();
    mkdirSync(join(screenshotDir, "layout"), { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const signIn = async (viewport: { width: number; height: number }, theme: "light" | "dark"): Promise<{ context: BrowserContext; page: Page }> => {
    const context = await browser.newContext({ viewport, colorScheme: theme });
    const page = await context.newPage();
    page.on("pageerror", (err) => pageErrors.push(err.message));
    await page.goto(server.loginURL);
    await page.waitForURL((u) => u.pathname === "/");
    return { context, page };
  };

  for (const vp of viewports) {
    for (const theme of ["light", "dark"] as const) {
      it(`fits ${vp.width}×${vp.height} (${theme}) on every main page`, async () => {
        const { context, page } = await signIn({ width: vp.width, height: vp.height }, theme);
        try {
          const problems: string[] = [];
          for (const route of mainRoutes) {
            await page.goto(`${server.baseURL}${route.path}`);
            await page.locator(route.ready).first().waitFor({ timeout: 15_000 });
            // Charts draw after their data; let layout settle.
            await page.waitForTimeout(200);
            const o = await overflow(page);
            if (o.scrollWidth > o.innerWidth) problems.push(`${route.name}: ${o.scrollWidth} px wide in ${o.innerWidth}: ${o.culprits.join(", ")}`);
            if (vp.name !== "small") await page.screenshot({ path: join(screenshotDir, "layout", `${vp.name}-${theme}-${route.name}.png`), fullPage: true });
          }
          assert.deepEqual(problems, []);
        } finally {
          await context.close();
        }
      });
    }
  }

  it("reaches every page from a collapsed menu on a phone", async () => {
    const { context, page } = await signIn({ width: 390, height: 844 }, "light");
    try {
      await page.getByTestId("kpi-events-value").waitFor();
      const header = await page.locator("header.topbar").boundingBox();
      assert.ok(header && header.height <= 64, `the header is ${header?.height} px tall`);
      const nav = page.getByRole("navigation", { name: "Main" });
      assert.equal(await nav.getByRole("link", { name: "Events" }).isVisible(), false, "the menu starts collapsed");
      const menu = page.getByRole("button", { name: "Menu" });
      assert.equal(await menu.getAttribute("aria-expanded"), "false");
      await menu.click();
      assert.equal(await menu.getAttribute("aria-expanded"), "true");
      for (const label of ["Overview", "Events", "Journeys", "Reconciliation", "Anomalies & alerts", "Monitor", "Settings", "Playground"]) {
        const link = nav.getByRole("link", { name: label, exact: true });
        assert.ok(await link.isVisible(), `${label} is in the open menu`);
        const box = await link.boundingBox();
        assert.ok(box && box.x >= 0 && box.x + box.width <= 390, `${label} is on screen: ${JSON.stringify(box)}`);
      }
      const signOut = page.getByRole("button", { name: "Sign out" });
      assert.ok(await signOut.isVisible(), "Sign out is in the open menu");
      await nav.getByRole("link", { name: "Reconciliation", exact: true }).click();
      await page.waitForURL((u) => u.pathname === "/reconciliation");
      // Following a link closes the menu.
      await page.locator('button.menu-button[aria-expanded="false"]').waitFor();
      // Escape closes it too and gives focus back to the button.
      await menu.click();
      await page.keyboard.press("Escape");
      assert.equal(await menu.getAttribute("aria-expanded"), "false");
      assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), "Menu");
    } finally {
      await context.close();
    }
  });

  for (const width of [1152, 1280, 1440]) {
    it(`keeps the header on one line at ${width} px`, async () => {
      const { context, page } = await signIn({ width, height: 900 }, "light");
      try {
        await page.getByTestId("kpi-events-value").waitFor();
        const header = await page.locator("header.topbar").boundingBox();
        assert.ok(header && header.height <= 56, `the header is ${header?.height} px tall`);
        const signOut = await page.getByRole("button", { name: "Sign out" }).boundingBox();
        assert.ok(signOut && signOut.height <= 40 && signOut.x + signOut.width <= width, `Sign out: ${JSON.stringify(signOut)}`);
        for (const label of ["Overview", "Events", "Playground"]) {
          assert.ok(await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: label, exact: true }).isVisible(), `${label} is shown`);
        }
        const o = await overflow(page);
        assert.ok(o.scrollWidth <= o.innerWidth, `${o.scrollWidth} px wide: ${o.culprits.join(", ")}`);
      } finally {
        await context.close();
      }
    });
  }

  it("logged no errors in the page", () => {
    assert.deepEqual(pageErrors, []);
  });
});
