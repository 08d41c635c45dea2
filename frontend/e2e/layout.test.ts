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
  freshWebhook,
  gql,
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
        assert.equal(await page.getByRole("button", { name: "Menu" }).isVisible(), false, "no menu button when the navigation fits");
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

  it("gives focus back to the row when Escape closes the event drawer", async () => {
    const { context, page } = await signIn({ width: 1440, height: 900 }, "light");
    try {
      await page.goto(`${server.baseURL}/events`);
      const link = page.getByTestId("event-row").nth(2).locator("a.event-link");
      await link.waitFor();
      const title = await link.getAttribute("title");
      await link.focus();
      await page.keyboard.press("Enter");
      await page.getByTestId("event-drawer").waitFor();
      await page.keyboard.press("Escape");
      await page.waitForURL((u) => !u.searchParams.has("event"));
      await page.waitForFunction((t) => document.activeElement?.getAttribute("title") === t, title, { timeout: 5000 });
    } finally {
      await context.close();
    }
  });

  it("reaches the first event row in a few keystrokes with the skip links", async () => {
    const { context, page } = await signIn({ width: 1440, height: 900 }, "light");
    try {
      await page.goto(`${server.baseURL}/events`);
      await page.getByTestId("event-row").first().waitFor();
      const active = () => page.evaluate(() => document.activeElement?.textContent?.trim() ?? "");
      await page.keyboard.press("Tab");
      assert.equal(await active(), "Skip to content");
      await page.keyboard.press("Tab");
      assert.equal(await active(), "Skip to the event list");
      await page.keyboard.press("Enter");
      await page.keyboard.press("Tab");
      const inRow = await page.evaluate(() => document.activeElement?.closest('[data-testid="event-row"]') !== null);
      assert.ok(inRow, `focus is on ${await active()}`);
    } finally {
      await context.close();
    }
  });

  it("keeps focused content clear of the sticky header", async () => {
    const { context, page } = await signIn({ width: 1024, height: 600 }, "light");
    try {
      await page.goto(`${server.baseURL}/`);
      await page.getByTestId("kpi-events-value").waitFor();
      // Scroll so the time range picker sits just under the top edge: in the viewport, but under the header.
      await page.evaluate(() => {
        const el = document.querySelector("#time-range-select");
        if (el) window.scrollTo(0, el.getBoundingClientRect().top + window.scrollY - 5);
      });
      await page.locator("#time-range-select").focus();
      const header = await page.locator("header.topbar").boundingBox();
      const focused = await page.locator("#time-range-select").boundingBox();
      assert.ok(header && focused && focused.y >= header.y + header.height, `focused at ${focused?.y}, header ends at ${(header?.y ?? 0) + (header?.height ?? 0)}`);
    } finally {
      await context.close();
    }
  });

  it("shows values, units and time in chart tooltips, and zooms on a drag", async () => {
    const { context, page } = await signIn({ width: 1440, height: 900 }, "light");
    try {
      await page.goto(`${server.baseURL}/?range=1h`);
      const over = page.getByTestId("volume-chart").locator(".u-over");
      await over.waitFor();
      const box = await over.boundingBox();
      assert.ok(box);
      // The traffic is in the last minutes: hover near the right end.
      let text = "";
      for (const f of [0.97, 0.93, 0.9, 0.85, 0.8]) {
        await page.mouse.move(box.x + box.width * f, box.y + box.height / 2);
        const tip = page.getByTestId("volume-chart").getByTestId("chart-tooltip");
        if (await tip.isVisible()) {
          text = await tip.innerText();
          if (/events: [1-9]/.test(text)) break;
        }
      }
      assert.match(text, /minute from .*\d/, text);
      assert.match(text, /events: [\d,]+ per minute/, text);
      assert.match(text, /deliveries: [\d,]+ per minute/, text);
      await page.screenshot({ path: join(screenshotDir, "layout", "tooltip-volume.png") });

      // Drag across the middle: the page's range becomes that stretch.
      await page.mouse.move(box.x + box.width * 0.3, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2, { steps: 5 });
      await page.mouse.up();
      await page.waitForURL((u) => u.searchParams.has("from") && u.searchParams.has("to"));
      const u = new URL(page.url());
      const span = new Date(u.searchParams.get("to") ?? "").getTime() - new Date(u.searchParams.get("from") ?? "").getTime();
      assert.ok(span > 10 * 60_000 && span < 25 * 60_000, `zoomed to ${span / 60_000} minutes of the hour`);

      await page.goto(`${server.baseURL}/events?range=1h`);
      const tl = page.getByTestId("timeline").locator(".u-over");
      await tl.waitFor();
      const tb = await tl.boundingBox();
      assert.ok(tb);
      await page.mouse.move(tb.x + tb.width * 0.98, tb.y + tb.height * 0.8);
      const tip = page.getByTestId("timeline").getByTestId("chart-tooltip");
      await tip.waitFor();
      assert.match(await tip.innerText(), /\d+ events?/);
    } finally {
      await context.close();
    }
  });

  it("follows new events live on the events, deliveries and overview pages, with a pause", async () => {
    const { context, page } = await signIn({ width: 1440, height: 900 }, "light");
    const base = loadCaptures()[1];
    assert.ok(base);
    const count = async () => (await gql<{ events: { totalCount: number } }>(server.baseURL, server.adminToken, "{ events { totalCount } }")).events.totalCount;
    try {
      await page.goto(`${server.baseURL}/events`);
      await page.getByTestId("live-state").filter({ hasText: "Live" }).waitFor();
      const before = await count();
      await page.getByTestId("event-count").filter({ hasText: `${before.toLocaleString("en-US")} events` }).waitFor();
      const hook = freshWebhook(base);
      assert.equal(await deliver(server.baseURL, hook), 200);
      // Joins the top of the list and the count, without a reload.
      await page.getByTestId("event-count").filter({ hasText: `${(before + 1).toLocaleString("en-US")} events` }).waitFor({ timeout: 10_000 });
      assert.ok((await page.getByTestId("event-row").first().locator("a.event-link").getAttribute("title"))?.includes(hook.id));

      // Paused: the next one is counted, not listed, until asked for.
      await page.getByTestId("live-toggle").click();
      await page.getByTestId("live-state").filter({ hasText: "Paused" }).waitFor();
      assert.equal(new URL(page.url()).searchParams.get("live"), "off");
      const second = freshWebhook(base);
      assert.equal(await deliver(server.baseURL, second), 200);
      await page.getByTestId("live-new").filter({ hasText: "1 new event" }).waitFor({ timeout: 10_000 });
      assert.ok(!(await page.getByTestId("event-row").first().locator("a.event-link").getAttribute("title"))?.includes(second.id));
      await page.getByTestId("live-new").click();
      await page.getByTestId("event-count").filter({ hasText: `${(before + 2).toLocaleString("en-US")} events` }).waitFor();
      assert.ok((await page.getByTestId("event-row").first().locator("a.event-link").getAttribute("title"))?.includes(second.id));
      await page.getByTestId("live-toggle").click();
      await page.getByTestId("live-state").filter({ hasText: "Live" }).waitFor();

      // Deliveries: a new event is a new accepted delivery.
      await page.goto(`${server.baseURL}/events/deliveries`);
      const accepted = page.getByTestId("count-accepted");
      await accepted.filter({ hasText: /\d/ }).waitFor();
      const n = Number((await accepted.innerText()).replaceAll(",", ""));
      assert.equal(await deliver(server.baseURL, freshWebhook(base)), 200);
      await accepted.filter({ hasText: (n + 1).toLocaleString("en-US") }).waitFor({ timeout: 10_000 });

      // The overview says it is live, and pauses.
      await page.goto(`${server.baseURL}/`);
      await page.getByTestId("live-state").filter({ hasText: "Live" }).waitFor();
      await page.getByTestId("live-toggle").click();
      await page.getByTestId("live-state").filter({ hasText: "Paused" }).waitFor();
      assert.equal(await deliver(server.baseURL, freshWebhook(base)), 200);
      await page.getByTestId("live-new").filter({ hasText: "1 new event" }).waitFor({ timeout: 10_000 });
      // A range that ended in the past cannot grow.
      await page.goto(`${server.baseURL}/events?from=2020-01-01T00:00:00Z&to=2020-01-02T00:00:00Z`);
      await page.getByTestId("live-state").filter({ hasText: "Not live" }).waitFor();
    } finally {
      await context.close();
    }
  });

  it("logged no errors in the page", () => {
    assert.deepEqual(pageErrors, []);
  });
});
