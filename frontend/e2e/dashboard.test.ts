// The dashboard end to end: a real server, real signed webhooks (the
// sandbox captures and the simulator's traffic), real Chromium. Every page
// is compared with what the API says and saved as a screenshot in
// test-results/screenshots/.
//
// A second server holds two weeks of generated history (`hooklens rollup
// generate`) and then receives a burst of simulated transfers: the
// scheduled anomaly scan opens a volume spike on it a couple of minutes
// later, as it would in production. It is started first so that wait
// overlaps the other tests.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { after, before, describe, it } from "node:test";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { formatAnomalyValue } from "../src/lib/anomalies.ts";
import { formatMs, formatPercent, formatScore } from "../src/lib/format.ts";
import { parseCSV } from "./csv.ts";
import {
  a11yViolations,
  deliver,
  flushRollups,
  freshWebhook,
  gql,
  hooklens,
  inCI,
  launchBrowser,
  loadCaptures,
  missingPrerequisite,
  recordSkip,
  screenshotDir,
  simulate,
  startServer,
  type A11yViolation,
  type CapturedWebhook,
  type RunningServer,
  type SimulationResult,
} from "./harness.ts";

const missing = missingPrerequisite();
if (missing && inCI) {
  // In CI a browser test that cannot run is a failure, never a skip.
  throw new Error(`browser tests cannot run: ${missing}`);
}
if (missing) recordSkip(missing, "frontend/e2e: dashboard in Chromium");

/** Events counted by topic through the API, the truth the pages are held to. */
async function countEvents(server: RunningServer, where: Record<string, unknown>): Promise<number> {
  const data = await gql<{ events: { totalCount: number } }>(server.baseURL, server.adminToken, "query($w: WebhookEventWhereInput) { events(where: $w) { totalCount } }", { w: where });
  return data.events.totalCount;
}

/**
 * Starts the server with history for the anomaly scan and sends it a burst
 * of transfers. The scan evaluates each minute a minute after it ends, every
 * minute from the start: a burst in the server's first minute is seen by its
 * second scan. So the server does not start in a minute's last seconds.
 */
async function startAnomalyServer(): Promise<{ server: RunningServer; burst: Promise<SimulationResult>; started: number }> {
  const server = await startServer({
    // Alert rules are evaluated every 2 s, so the open_anomalies alert follows the anomaly at once.
    args: ["--alert-schedule", "2s"],
    prepare: async (db, dir) => {
      await hooklens(["rollup", "generate", "--events", "30000", "--days", "15", "--seed", "3", "--database-url", db], { cwd: dir, timeout: 90_000 });
      const second = new Date().getUTCSeconds();
      if (second >= 50) await new Promise((r) => setTimeout(r, (61 - second) * 1000));
    },
  });
  const started = Date.now();
  const burst = simulate(server.baseURL, { rate: 50, duration: "5s", seed: 7, mix: "transfer=100" });
  return { server, burst, started };
}

describe("dashboard in Chromium", { skip: missing ?? false, timeout: 300_000 }, () => {
  let server: RunningServer;
  let anomalyServer: RunningServer;
  let anomalyStarted: number;
  let simulated: SimulationResult;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let captures: CapturedWebhook[];
  /** Distinct events among the captures (the sandbox sent one event twice). */
  let unique: CapturedWebhook[];
  const pageErrors: string[] = [];

  const a11y: Record<string, A11yViolation[]> = {};
  // Every page is screenshotted and checked with axe-core as it is shown.
  const shot = async (name: string) => {
    await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
    // GraphiQL is a third-party widget with known axe findings of its own.
    const found = await a11yViolations(page, [".graphiql-container"]);
    if (found.length) a11y[name] = found;
  };

  before(async () => {
    const anomalies = await startAnomalyServer();
    anomalyServer = anomalies.server;
    anomalyStarted = anomalies.started;
    server = await startServer();
    captures = loadCaptures();
    unique = [...new Map(captures.map((c) => [c.id, c])).values()];
    assert.ok(captures.length >= 10, "the captures should hold real webhooks");
    for (const hook of captures) assert.equal(await deliver(server.baseURL, hook), 200, `delivering ${hook.id}`);
    // A duplicate delivery and a forged one, so deliveries show all outcomes.
    const first = captures[0];
    assert.ok(first);
    assert.equal(await deliver(server.baseURL, first), 200);
    assert.equal(await deliver(server.baseURL, first, "not-the-secret"), 401);
    // Realistic traffic on top: lifecycles of customers, funding sources and transfers.
    simulated = await simulate(server.baseURL, { rate: 50, duration: "5s", seed: 42 });
    assert.equal(simulated.delivered, simulated.events, simulated.summary);
    const burst = await anomalies.burst;
    assert.equal(burst.delivered, burst.events, burst.summary);
    // Deliveries reach the rollups behind a margin: count them now rather than in 30 s.
    await new Promise((r) => setTimeout(r, 2100));
    await flushRollups(server);

    browser = await launchBrowser();
    context = await browser.newContext({ viewport: { width: 1400, height: 900 }, colorScheme: "light" });
    page = await context.newPage();
    page.on("pageerror", (err) => pageErrors.push(err.message));
    page.on("console", (msg) => {
      if (msg.type() === "error") pageErrors.push(msg.text());
    });
  });

  after(async () => {
    await browser?.close();
    await server?.stop();
    await anomalyServer?.stop();
  });

  it("signs in through the link the server printed and clears the token from the URL", async () => {
    await page.goto(server.loginURL);
    await page.waitForURL((u) => u.pathname === "/");
    assert.equal(new URL(page.url()).hash, "", "the token must leave the address bar");
    await page.getByTestId("who").waitFor();
    assert.match(await page.getByTestId("who").innerText(), /admin/);
  });

  it("shows the overview with the figures the API gives", async () => {
    const api = await gql<{
      overview: {
        events: { value: number; change: number | null };
        deliveries: { value: number };
        rejectedDeliveries: { value: number };
        processingSuccessRate: { value: number | null };
        processingLatency: { p50Ms: { value: number | null }; p95Ms: { value: number | null } };
        journeys: { active: number; stuck: number };
        anomalies: { open: number; acknowledged: number };
        byTopic: { topic: string }[];
        businessRates: { family: string; created: { value: number }; succeeded: { value: number }; failed: { value: number } }[];
      };
    }>(
      server.baseURL,
      server.adminToken,
      `{ overview { events { value change } deliveries { value } rejectedDeliveries { value } processingSuccessRate { value }
         processingLatency { p50Ms { value } p95Ms { value } } journeys { active stuck } anomalies { open acknowledged }
         byTopic { topic } businessRates { family created { value } succeeded { value } failed { value } } } }`,
    );
    const o = api.overview;
    // Every capture and every simulated event, each once.
    assert.equal(o.events.value, unique.length + simulated.events);
    // Every delivery was counted by the flush: accepted ones, the duplicate, and the forged one.
    assert.equal(o.deliveries.value, captures.length + 1 + simulated.delivered);
    assert.equal(o.rejectedDeliveries.value, 1);
    const value = (name: string) => page.getByTestId(`kpi-${name}-value`).innerText();
    await page.getByTestId("kpi-events-value").filter({ hasText: o.events.value.toLocaleString("en-US") }).waitFor();
    assert.equal(await value("deliveries"), o.deliveries.value.toLocaleString("en-US"));
    assert.equal(await value("success"), formatPercent(o.processingSuccessRate.value));
    assert.equal(await page.getByTestId("kpi-latency-p50").innerText(), formatMs(o.processingLatency.p50Ms.value));
    assert.equal(await value("latency"), formatMs(o.processingLatency.p95Ms.value));
    assert.equal(await value("journeys"), o.journeys.active.toLocaleString("en-US"));
    assert.equal(await page.getByTestId("kpi-journeys-stuck").innerText(), `${o.journeys.stuck} stuck`);
    assert.equal(await value("anomalies"), String(o.anomalies.open + o.anomalies.acknowledged));
    // Nothing was received in the previous 24 hours: every count is new.
    assert.equal(o.events.change, null);
    assert.match(await page.getByTestId("kpi-events-trend").innerText(), /new/);
    assert.equal(await page.getByTestId("topic-row").count(), Math.min(o.byTopic.length, 12));
    const flows = o.businessRates.filter((r) => r.created.value + r.succeeded.value + r.failed.value > 0).length;
    assert.equal(await page.getByTestId("business-row").count(), flows);
    await page.getByTestId("volume-chart").locator("canvas").waitFor();
    await page.getByTestId("system-breaker").filter({ hasText: "running" }).waitFor();
    await shot("overview");
  });

  it("lists the stored events, matching the API", async () => {
    const total = await countEvents(server, {});
    assert.equal(total, unique.length + simulated.events);
    // The timeline is one eventStats query, not a count per interval.
    const operations: string[] = [];
    const record = (req: { url: () => string; postData: () => string | null }) => {
      const body = req.url().endsWith("/graphql") ? req.postData() : null;
      const m = body ? /"operationName":"(\w+)"/.exec(body) : null;
      if (m?.[1]) operations.push(m[1]);
    };
    page.on("request", record);
    await page.getByRole("link", { name: "Events", exact: true }).click();
    await page.getByTestId("event-row").first().waitFor();
    await page.getByTestId("event-count").filter({ hasText: `${total.toLocaleString("en-US")} events` }).waitFor();
    await page.getByTestId("timeline").locator("canvas").waitFor();
    page.off("request", record);
    assert.ok(operations.includes("EventStats"), operations.join(", "));
    assert.ok(!operations.includes("EventTimeline"), operations.join(", "));
    const firstRow = await page.getByTestId("event-row").first().innerText();
    const newest = await gql<{ events: { edges: { node: { topic: string } }[] } }>(
      server.baseURL,
      server.adminToken,
      "{ events(first: 1, orderBy: [{field: RECEIVED_AT, direction: DESC}]) { edges { node { topic } } } }",
    );
    assert.ok(firstRow.includes(newest.events.edges[0]?.node.topic ?? "?"), `newest first: ${firstRow}`);
    await shot("events");
  });

  it("shows the pipeline status pushed by the server", async () => {
    const status = await gql<{ systemStatus: { breaker: string; workers: number } }>(
      server.baseURL,
      server.adminToken,
      "{ systemStatus { breaker workers } }",
    );
    await page.getByTestId("breaker").waitFor();
    assert.equal(await page.getByTestId("breaker").getAttribute("class"), `breaker breaker-${status.systemStatus.breaker}`);
    assert.ok((await page.getByTestId("statusbar").innerText()).includes(`/${status.systemStatus.workers}`));
  });

  it("filters by topic and keeps the filter in the URL", async () => {
    const topic = captures[0]?.topic ?? "";
    const want = await countEvents(server, { topic });
    assert.ok(want >= unique.filter((c) => c.topic === topic).length);
    await page.getByLabel("Topic", { exact: true }).selectOption(topic);
    await page.waitForURL((u) => u.searchParams.get("topic") === topic);
    await page.getByTestId("event-count").filter({ hasText: `${want} event` }).waitFor();
    const rows = await page.getByTestId("event-row").allInnerTexts();
    assert.equal(rows.length, Math.min(want, rows.length));
    for (const r of rows) assert.ok(r.includes(topic), r);

    // The URL alone reproduces the view.
    await page.reload();
    await page.getByTestId("event-count").filter({ hasText: `${want} event` }).waitFor();
    assert.equal(await page.getByLabel("Topic", { exact: true }).inputValue(), topic);
    await shot("events-filtered");

    await page.getByRole("button", { name: "Clear" }).click();
    await page.waitForURL((u) => !u.searchParams.has("topic"));
  });

  it("searches by resource id", async () => {
    const hook = captures[3] ?? captures[0];
    assert.ok(hook);
    const resourceID = (JSON.parse(hook.body) as { resourceId: string }).resourceId;
    const want = await countEvents(server, { resourceID: resourceID.toLowerCase() });
    assert.ok(want >= 1);
    await page.getByLabel("Resource id").fill(resourceID);
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForURL((u) => u.searchParams.get("resource") === resourceID);
    await page.getByTestId("event-count").filter({ hasText: `${want} event` }).waitFor();
    await page.getByRole("button", { name: "Clear" }).click();
    await page.waitForURL((u) => !u.searchParams.has("resource"));
  });

  it("counts deliveries by outcome, rejections included", async () => {
    const api = await gql<{ a: { totalCount: number }; d: { totalCount: number }; b: { totalCount: number } }>(
      server.baseURL,
      server.adminToken,
      "{ a: deliveries(where: {outcome: accepted}) { totalCount } d: deliveries(where: {outcome: duplicate}) { totalCount } b: deliveries(where: {outcome: bad_signature}) { totalCount } }",
    );
    assert.equal(api.b.totalCount, 1, "the forged delivery is recorded");
    await page.getByRole("link", { name: "Deliveries" }).click();
    await page.getByTestId("count-accepted").filter({ hasText: String(api.a.totalCount) }).waitFor();
    assert.equal(await page.getByTestId("count-duplicate").innerText(), String(api.d.totalCount));
    assert.equal(await page.getByTestId("count-bad_signature").innerText(), "1");
    await page.getByTestId("outcome-counts").getByRole("button", { name: /bad signature/ }).click();
    await page.waitForURL((u) => u.searchParams.get("outcome") === "bad_signature");
    await page.getByTestId("delivery-row").first().waitFor();
    assert.equal(await page.getByTestId("delivery-row").count(), 1);
    assert.match(await page.getByTestId("delivery-row").innerText(), /401/);
    await shot("deliveries");
  });

  it("opens an event in the drawer with payload, raw body and every delivery", async () => {
    const first = captures[0];
    assert.ok(first);
    await page.goto(`${server.baseURL}/events?event=${first.id}`);
    const drawer = page.getByTestId("event-drawer");
    await drawer.waitFor();
    assert.ok((await drawer.innerText()).includes(first.id));
    // The duplicate and the original delivery; the forged one carried no trusted id.
    const deliveries = page.getByTestId("deliveries").locator("tbody tr");
    await deliveries.nth(1).waitFor();
    assert.equal(await deliveries.count(), 2);
    const outcomes = await deliveries.allInnerTexts();
    assert.ok(outcomes.some((t) => t.includes("accepted")), outcomes.join("\n"));
    assert.ok(outcomes.some((t) => t.includes("duplicate")), outcomes.join("\n"));
    // The pipeline put the event in a journey.
    await page.getByTestId("event-journeys").locator("li").first().waitFor();
    await page.getByText(/^Exactly as received/).click();
    assert.equal(await page.getByTestId("raw-body").innerText(), first.body);
    await shot("event-drawer");

    // Admins can send the event back through the pipeline.
    await page.getByTestId("replay-event").click();
    await page.getByText("Sent back through the pipeline").waitFor();
    await page.keyboard.press("Escape");
    await page.waitForURL((u) => !u.searchParams.has("event"));
  });

  it("shows journeys with the funnel, matching the API", async () => {
    const api = await gql<{ journeys: { totalCount: number }; journeyDefinitions: { key: string; name: string }[] }>(
      server.baseURL,
      server.adminToken,
      "{ journeys { totalCount } journeyDefinitions { key name } }",
    );
    assert.ok(api.journeys.totalCount > 0, "the captures should start journeys");
    // Journeys are dated by Dwolla's event times (the captures are from 2021–22).
    await page.goto(`${server.baseURL}/journeys?range=all`);
    await page.getByTestId("journey-count").filter({ hasText: `${api.journeys.totalCount} journey` }).waitFor();
    await shot("journeys");

    const def = api.journeyDefinitions.find((d) => d.key === "bank_transfer") ?? api.journeyDefinitions[0];
    assert.ok(def);
    const stats = await gql<{ journeyStats: { instances: number } }>(
      server.baseURL,
      server.adminToken,
      `query($d: String!) { journeyStats(definition: $d, from: "1970-01-01T00:00:00Z") { instances } }`,
      { d: def.key },
    );
    await page.getByLabel("Journey", { exact: true }).selectOption(def.key);
    await page.waitForURL((u) => u.searchParams.get("definition") === def.key);
    await page.getByTestId("stats-instances").filter({ hasText: String(stats.journeyStats.instances) }).waitFor();
    await page.getByTestId("funnel").waitFor();
    await page.getByTestId("journey-count").filter({ hasText: `${stats.journeyStats.instances} journey` }).waitFor();
    await shot("journeys-funnel");

    await page.getByTestId("journey-row").first().getByRole("link").click();
    await page.getByTestId("journey-steps").locator("li").first().waitFor();
    assert.ok((await page.getByTestId("journey-steps").locator("li.reached").count()) > 0, "a reached step");
    await shot("journey-drawer");
    await page.keyboard.press("Escape");

    await page.goto(`${server.baseURL}/journeys/definitions`);
    await page.getByTestId("definition").first().waitFor();
    assert.equal(await page.getByTestId("definition").count(), api.journeyDefinitions.length);
    await shot("journey-definitions");

    // An admin writes a new definition, checks it with the server, saves it.
    await page.getByRole("button", { name: "New definition" }).click();
    const editor = page.getByLabel("Definition (JSON)");
    const spec = JSON.parse(await editor.inputValue()) as Record<string, unknown>;
    await editor.fill(JSON.stringify({ ...spec, key: "e2e_transfer", name: "E2E transfer" }, null, 2));
    await page.getByRole("button", { name: "Validate" }).click();
    await page.getByTestId("definition-editor").getByText("Valid.").waitFor();
    await page.getByRole("button", { name: "Create definition" }).click();
    await page.getByTestId("definition-editor").getByText(/^Saved\./).waitFor();
    await page.getByTestId("definition").filter({ hasText: "E2E transfer" }).waitFor();
  });

  it("runs a reconciliation and shows the health it measured", async () => {
    await page.getByRole("link", { name: "Reconciliation" }).click();
    await page.getByTestId("dwolla").getByText(/^not configured/).waitFor();
    await page.getByText("No reconciliation has run yet").waitFor();
    await page.getByTestId("run-reconciliation").click();
    // The run is followed over the websocket; the page reloads when it ends.
    await page.getByTestId("recon-run").first().getByText("succeeded").waitFor({ timeout: 15_000 });
    await page.getByTestId("health-score").waitFor();
    const api = await gql<{ health: { score: number; components: { available: boolean }[] } }>(
      server.baseURL,
      server.adminToken,
      "{ health { score components { available } } }",
    );
    // One decimal, never rounded up to a perfect 100.
    assert.ok((await page.getByTestId("health-score").innerText()).startsWith(formatScore(api.health.score)));
    assert.equal(await page.getByTestId("health-component").count(), api.health.components.length);
    await page.getByTestId("findings").getByText("No open findings.").waitFor();
    await shot("reconciliation");
  });

  it("shows alert rules and channels, tests a channel and adds a rule", async () => {
    const api = await gql<{ alertRules: { key: string }[]; alertChannels: { name: string }[] }>(
      server.baseURL,
      server.adminToken,
      "{ alertRules { key } alertChannels { name } }",
    );
    await page.getByRole("link", { name: "Alerts" }).click();
    await page.getByTestId("alert-rule").first().waitFor();
    assert.equal(await page.getByTestId("alert-rule").count(), api.alertRules.length);
    assert.equal(await page.getByTestId("alert-channel").count(), api.alertChannels.length);
    const log = page.getByTestId("alert-channel").filter({ hasText: "log" }).first();
    await log.getByRole("button", { name: "Test" }).click();
    await page.getByTestId("channel-test").filter({ hasText: "Test sent" }).waitFor();

    await page.getByRole("button", { name: "New rule" }).click();
    await page.getByLabel("Key").fill("e2e_dead_letters");
    await page.getByLabel("Name").fill("E2E dead letters");
    await page.getByLabel("Condition").selectOption("dead_letters");
    await page.getByLabel(/^Threshold/).fill("3");
    await page.getByRole("button", { name: "Create rule" }).click();
    await page.getByTestId("alert-rule").filter({ hasText: "E2E dead letters" }).waitFor();
    // Thresholds read in their unit.
    assert.match(await page.getByTestId("alert-rule").filter({ hasText: "Processing delay" }).innerText(), /300 s \(5 min\)/);
    assert.match(await page.getByTestId("alert-rule").filter({ hasText: "Processing errors" }).innerText(), /5 %/);
    await shot("alerts");
  });

  it("exports the events matching the filters as CSV", async () => {
    const topic = captures[0]?.topic ?? "";
    const want = await countEvents(server, { topic });
    await page.goto(`${server.baseURL}/events?topic=${topic}`);
    await page.getByTestId("event-count").filter({ hasText: `${want} event` }).waitFor();
    const [download] = await Promise.all([page.waitForEvent("download"), page.getByTestId("export-csv").click()]);
    assert.match(download.suggestedFilename(), /^hooklens-events-\d{8}T\d{6}Z\.csv$/);
    const path = await download.path();
    const rows = parseCSV(readFileSync(path, "utf8"));
    const header = rows[0] ?? [];
    const topicCol = header.indexOf("topic");
    const idCol = header.indexOf("eventId");
    assert.ok(topicCol >= 0 && idCol >= 0, `columns: ${header.join(",")}`);
    const body = rows.slice(1);
    assert.equal(body.length, want);
    for (const r of body) assert.equal(r[topicCol], topic);
    // The same events as the API's, not merely as many.
    const ids = await gql<{ events: { edges: { node: { eventID: string } }[] } }>(
      server.baseURL,
      server.adminToken,
      "query($t: String!) { events(where: {topic: $t}, first: 1000) { edges { node { eventID } } } }",
      { t: topic },
    );
    assert.deepEqual(body.map((r) => r[idCol]).sort(), ids.events.edges.map((e) => e.node.eventID).sort());
    // The other formats carry the same filters.
    assert.match((await page.getByTestId("export-ndjson").getAttribute("href")) ?? "", new RegExp(`format=ndjson.*topic=${topic}`));

    // A free-text search is beyond the export: the buttons say so instead.
    await page.goto(`${server.baseURL}/events?q=${topic.slice(0, 6)}`);
    const blocked = page.getByTestId("export-csv");
    await blocked.waitFor();
    assert.equal(await blocked.getAttribute("aria-disabled"), "true");
    assert.match((await blocked.getAttribute("title")) ?? "", /free-text search/);
    await shot("events-export-blocked");
  });

  it("replays the events matching the filters as a job", async () => {
    const topic = captures[0]?.topic ?? "";
    const want = await countEvents(server, { topic });
    await page.goto(`${server.baseURL}/events?topic=${topic}`);
    await page.getByTestId("event-count").filter({ hasText: `${want} event` }).waitFor();
    await page.getByTestId("replay-matching").click();
    await page.getByRole("dialog").getByRole("button", { name: "Replay" }).click();
    const job = page.getByTestId("job");
    await job.getByText("succeeded", { exact: true }).waitFor({ timeout: 15_000 });
    assert.ok((await job.innerText()).includes(`${want} of ${want} done`), await job.innerText());
    await shot("events-replay-job");
    await job.getByRole("button", { name: "Dismiss" }).click();
  });

  it("shows a new webhook in the monitor within two seconds", async () => {
    await page.getByRole("link", { name: "Monitor" }).click();
    await page.getByTestId("connection").filter({ hasText: "Live" }).waitFor();
    const base = captures[1] ?? captures[0];
    assert.ok(base);
    const hook = freshWebhook(base);
    const sent = Date.now();
    assert.equal(await deliver(server.baseURL, hook), 200);
    await page.getByTestId("live-row").filter({ hasText: hook.topic }).first().waitFor({ timeout: 2000 });
    const elapsed = Date.now() - sent;
    assert.ok(elapsed < 2000, `shown after ${elapsed} ms`);
    await page.getByTestId("received").filter({ hasText: "1" }).waitFor();
    // The pipeline processes it and the row follows.
    await page.getByTestId("live-row").filter({ hasText: hook.topic }).first().getByText("processed").waitFor({ timeout: 5000 });
    await page.getByTestId("pipeline").waitFor();

    // Paused: new events wait; resumed: they appear.
    await page.getByTestId("pause").click();
    const second = freshWebhook(base);
    assert.equal(await deliver(server.baseURL, second), 200);
    await page.getByTestId("pause").filter({ hasText: "Resume (1 new)" }).waitFor();
    assert.equal(await page.getByTestId("live-row").count(), 1);
    await page.getByTestId("pause").click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="live-row"]').length === 2);
    await shot("monitor");
  });

  it("creates a token, shows it once, and revokes it", async () => {
    await page.getByRole("link", { name: "Settings" }).click();
    await page.getByTestId("token-table").waitFor();
    await page.getByLabel("Name").fill("e2e-grafana");
    await page.getByLabel("Role").selectOption("viewer");
    await page.getByRole("button", { name: "Create token" }).click();
    const value = await page.getByTestId("new-token-value").innerText();
    assert.match(value, /^hl_/);
    const viewer = await gql<{ viewer: { name: string; role: string } }>(server.baseURL, value, "{ viewer { name role } }");
    assert.deepEqual(viewer.viewer, { name: "e2e-grafana", role: "viewer" });
    const row = page.getByTestId("token-row").filter({ hasText: "e2e-grafana" });
    await row.waitFor();
    await shot("settings-tokens");

    await row.getByRole("button", { name: /Revoke/ }).click();
    await page.getByRole("dialog").getByRole("button", { name: "Revoke token" }).click();
    await row.getByText("revoked").waitFor();
    const res = await fetch(`${server.baseURL}/graphql`, {
      method: "POST",
      headers: { "Content-Type": "application/json", Authorization: `Bearer ${value}` },
      body: JSON.stringify({ query: "{ viewer { name } }" }),
    });
    assert.equal(res.status, 401, "a revoked token no longer works");

    // The audit trail recorded it all.
    await page.getByRole("link", { name: "Audit log" }).click();
    await page.getByTestId("audit-row").first().waitFor();
    const api = await gql<{ auditLogs: { totalCount: number; edges: { node: { action: string } }[] } }>(
      server.baseURL,
      server.adminToken,
      "{ auditLogs(first: 1000) { totalCount edges { node { action } } } }",
    );
    assert.ok(api.auditLogs.totalCount > 0);
    const revoked = api.auditLogs.edges.filter((e) => e.node.action.startsWith("mutation.revokeAPIToken")).length;
    assert.ok(revoked > 0, api.auditLogs.edges.map((e) => e.node.action).join(", "));
    await page.getByLabel("Action starts with").fill("mutation.revokeAPIToken");
    await page.getByRole("button", { name: "Apply" }).click();
    await page.waitForURL((u) => u.searchParams.get("action") === "mutation.revokeAPIToken");
    await page.getByTestId("audit-table").locator("caption").filter({ hasText: `of ${revoked} entr` }).waitFor();
    await shot("settings-audit");
  });

  it("runs a query in the playground as the signed-in user", async () => {
    await page.getByRole("link", { name: "Playground" }).click();
    await page.locator(".graphiql-container").waitFor();
    const want = `"totalCount": ${await countEvents(server, {})}`;
    // GraphiQL ignores a click while its editors are still mounting: ask again.
    let answered = false;
    for (let attempt = 0; attempt < 3 && !answered; attempt++) {
      await page.locator(".graphiql-execute-button").click();
      answered = await page
        .waitForFunction((w) => document.querySelector(".result-window")?.textContent?.includes(w) ?? false, want, { timeout: 5000 })
        .then(() => true)
        .catch(() => false);
    }
    assert.ok(answered, `the playground did not answer ${want}; it shows: ${await page.locator(".result-window").innerText()}`);
    // The schema ships with the dashboard: the docs work without introspection.
    await page.getByRole("button", { name: /Documentation Explorer/ }).click();
    await page.locator(".graphiql-doc-explorer").getByText("subscription", { exact: true }).waitFor({ timeout: 5000 });
    await shot("playground");
  });

  it("loads the next pages of a long log as the list scrolls", async () => {
    const base = captures[2] ?? captures[0];
    assert.ok(base);
    const extra = Array.from({ length: 230 }, () => freshWebhook(base));
    for (let i = 0; i < extra.length; i += 23) {
      const statuses = await Promise.all(extra.slice(i, i + 23).map((h) => deliver(server.baseURL, h)));
      assert.ok(statuses.every((s) => s === 200));
    }
    const total = (await gql<{ events: { totalCount: number } }>(server.baseURL, server.adminToken, "{ events { totalCount } }")).events.totalCount;
    await page.goto(`${server.baseURL}/events`);
    const foot = page.getByTestId("event-table").locator(".table-foot");
    await foot.filter({ hasText: `100 of ${total} loaded` }).waitFor();
    // Only the visible rows are in the DOM.
    assert.ok((await page.getByTestId("event-row").count()) < 60);
    const scroller = page.getByTestId("event-table").locator(".event-scroll");
    for (let i = 0; i < 20; i++) {
      await scroller.evaluate((el) => el.scrollTo(0, el.scrollHeight));
      if ((await foot.innerText()).startsWith(`All ${total}`)) break;
      await page.waitForTimeout(150);
    }
    await foot.filter({ hasText: `All ${total} shown` }).waitFor();
  });

  it("switches to the dark theme and remembers it", async () => {
    await page.goto(`${server.baseURL}/events`);
    await page.getByTestId("event-row").first().waitFor();
    // system (light here) → light → dark
    await page.getByTestId("theme-toggle").click();
    await page.getByTestId("theme-toggle").click();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
    await page.reload();
    await page.getByTestId("event-row").first().waitFor();
    assert.equal(await page.evaluate(() => document.documentElement.dataset.theme), "dark");
    await shot("events-dark");
    await page.getByRole("link", { name: "Overview" }).click();
    await page.getByTestId("volume-chart").locator("canvas").waitFor();
    await shot("overview-dark");
    await page.getByTestId("theme-toggle").click();
  });

  it("gives viewers no mutation controls, and sends them to sign in when their session ends", async () => {
    const created = await gql<{ createAPIToken: { token: string; apiToken: { id: string } } }>(
      server.baseURL,
      server.adminToken,
      `mutation { createAPIToken(input: {name: "e2e-viewer", role: viewer}) { token apiToken { id } } }`,
    );
    const viewerContext = await browser.newContext({ viewport: { width: 1400, height: 900 } });
    try {
      const vp = await viewerContext.newPage();
      await vp.goto(`${server.baseURL}/login`);
      await vp.getByLabel("API token").fill(created.createAPIToken.token);
      await vp.getByRole("button", { name: "Sign in" }).click();
      await vp.waitForURL((u) => u.pathname === "/");
      assert.match(await vp.getByTestId("who").innerText(), /viewer/);
      assert.equal(await vp.getByRole("link", { name: "Settings" }).count(), 0);
      await vp.getByRole("link", { name: "Events", exact: true }).click();
      await vp.getByTestId("event-row").first().waitFor();
      assert.equal(await vp.getByTestId("replay-matching").count(), 0);
      await vp.getByTestId("event-row").first().getByRole("link").click();
      await vp.getByTestId("event-drawer").waitFor();
      assert.equal(await vp.getByTestId("replay-event").count(), 0);
      await vp.keyboard.press("Escape");
      await vp.goto(`${server.baseURL}/settings/tokens`);
      await vp.getByText("Only admins manage API tokens.").waitFor();
      assert.equal(await vp.getByRole("button", { name: "Create token" }).count(), 0);
      await vp.screenshot({ path: join(screenshotDir, "viewer-settings.png"), fullPage: true });

      // Revoking the token ends the session: the next request answers 401.
      await gql(server.baseURL, server.adminToken, `mutation($id: ID!) { revokeAPIToken(id: $id) { id } }`, { id: created.createAPIToken.apiToken.id });
      await vp.getByRole("link", { name: "Events" }).click();
      await vp.waitForURL((u) => u.pathname === "/login" && u.searchParams.has("expired"));
      await vp.getByText("Your session has ended").waitFor();
      await vp.screenshot({ path: join(screenshotDir, "session-expired.png"), fullPage: true });
    } finally {
      await viewerContext.close();
    }
  });

  it("shows a volume spike the scan found, live, with observed against expected", async () => {
    const context2 = await browser.newContext({ viewport: { width: 1400, height: 900 }, colorScheme: "light" });
    try {
      const ap = await context2.newPage();
      ap.on("pageerror", (err) => pageErrors.push(err.message));
      ap.on("console", (msg) => {
        if (msg.type() === "error") pageErrors.push(msg.text());
      });
      await ap.goto(anomalyServer.loginURL);
      await ap.waitForURL((u) => u.pathname === "/");
      await ap.getByTestId("kpi-events-value").waitFor();

      await ap.getByRole("link", { name: "Anomalies & alerts" }).click();
      await ap.getByTestId("anomalies").waitFor();
      // The scan's second run (two minutes after the start) evaluates the burst's minute; the page hears of it live.
      const spikeRow = ap.getByTestId("anomaly").and(ap.locator('[data-key="volume_spike:transfer"]'));
      await spikeRow.waitFor({ timeout: Math.max(10_000, anomalyStarted + 200_000 - Date.now()) });
      const id = (await spikeRow.getAttribute("data-anomaly-id")) ?? "";
      type Anomaly = { id: string; status: string; observed: number; expected: number; acknowledgedBy: string | null; resolutionNote: string | null };
      const byID = async () =>
        (
          await gql<{ anomalies: { edges: { node: Anomaly }[] } }>(
            anomalyServer.baseURL,
            anomalyServer.adminToken,
            "query($id: ID!) { anomalies(where: {id: $id}) { edges { node { id status observed expected acknowledgedBy resolutionNote } } } }",
            { id },
          )
        ).anomalies.edges[0]?.node;
      const spike = await byID();
      assert.ok(spike, "the API has the anomaly");
      assert.ok(spike.observed > spike.expected, `observed ${spike.observed} vs expected ${spike.expected}`);
      // Every anomaly, whatever its status, so a new episode cannot take this one's place.
      await ap.getByLabel("Status", { exact: true }).selectOption("all");
      await ap.getByLabel("Type", { exact: true }).selectOption("volume_spike");
      await ap.waitForURL((u) => u.searchParams.get("type") === "volume_spike" && u.searchParams.get("anomalies") === "all");
      const row = ap.locator(`[data-anomaly-id="${id}"]`);
      await row.waitFor();
      assert.ok((await row.innerText()).includes(`Observed ${formatAnomalyValue("volume_spike", spike.observed)}`), await row.innerText());

      await row.getByRole("button", { name: "Observed vs expected" }).click();
      const chart = row.getByTestId("anomaly-chart");
      await chart.locator("canvas").waitFor();
      assert.equal(await chart.getAttribute("data-source"), "eventStats");
      await row.screenshot({ path: join(screenshotDir, "anomaly-chart.png") });
      await ap.screenshot({ path: join(screenshotDir, "anomalies.png"), fullPage: true });
      const onList = await a11yViolations(ap);
      if (onList.length) a11y.anomalies = onList;

      // The anomaly leads to what is behind it: the events of its window.
      const links = row.getByTestId("anomaly-links").getByRole("link");
      const href = (await links.first().getAttribute("href")) ?? "";
      assert.match(href, /^\/events\?from=.*&to=/, href);
      // Its chart says what its highest point was, beside the detector's own peak.
      assert.match(await chart.getByTestId("anomaly-peak").innerText(), /highest point of the series in the window is [\d.]+\/min/);

      // A second tab lists the open anomalies; resolving it here takes it off that list live.
      const watcher = await context2.newPage();
      await watcher.goto(`${anomalyServer.baseURL}/alerts?anomalies=active&type=volume_spike`);
      const watched = watcher.locator(`[data-anomaly-id="${id}"]`);
      await watched.waitFor();

      // Acknowledge, then resolve with a note, as an admin.
      await row.getByRole("button", { name: "Acknowledge" }).click();
      await row.getByTestId("anomaly-status").filter({ hasText: "acknowledged" }).waitFor();
      const acked = await byID();
      assert.equal(acked?.status, "acknowledged");
      assert.equal(acked?.acknowledgedBy, "bootstrap admin");
      await row.getByRole("button", { name: "Resolve" }).click();
      await ap.getByRole("dialog").getByLabel("Note (optional)").fill("e2e: the burst was the simulator");
      await ap.getByRole("dialog").getByRole("button", { name: "Resolve" }).click();
      await row.getByTestId("anomaly-status").filter({ hasText: "resolved" }).waitFor();
      const resolved = await byID();
      assert.equal(resolved?.status, "resolved");
      assert.equal(resolved?.resolutionNote, "e2e: the burst was the simulator");
      assert.match(await row.getByTestId("anomaly-resolution").innerText(), /e2e: the burst was the simulator/);
      await watched.waitFor({ state: "detached", timeout: 10_000 });
      await watcher.close();

      // The open_anomalies rule raised an alert; its notifications link to /alerts/<id>.
      // Rules are evaluated every 2 s on this server: give the first evaluation after the anomaly a moment.
      let alert: { id: string; title: string } | undefined;
      for (let i = 0; i < 20 && !alert; i++) {
        const alerts = await gql<{ alerts: { edges: { node: { id: string; title: string } }[] } }>(
          anomalyServer.baseURL,
          anomalyServer.adminToken,
          `{ alerts(where: {ruleKey: "open_anomalies"}, first: 1) { edges { node { id title } } } }`,
        );
        alert = alerts.alerts.edges[0]?.node;
        if (!alert) await new Promise((r) => setTimeout(r, 500));
      }
      assert.ok(alert, "the open_anomalies rule fired");
      await ap.goto(`${anomalyServer.baseURL}/alerts/${alert.id}`);
      const detail = ap.getByTestId("alert-detail");
      await detail.waitFor();
      // The title follows the condition (it counts the open anomalies) and the page follows
      // alertChanged, so compare it with the alert as the API has it now.
      let shown = "";
      let title = alert.title;
      for (let i = 0; i < 20; i++) {
        shown = await detail.innerText();
        if (shown.includes(title)) break;
        await new Promise((r) => setTimeout(r, 500));
        const now = await gql<{ node: { title: string } | null }>(
          anomalyServer.baseURL,
          anomalyServer.adminToken,
          "query($id: ID!) { node(id: $id) { ... on Alert { title } } }",
          { id: alert.id },
        );
        title = now.node?.title ?? title;
      }
      assert.ok(shown.includes(title), `alert page: ${shown}; title: ${title}`);
      // The alert leads to the anomalies it counts.
      assert.equal(await detail.getByTestId("alert-links").getByRole("link", { name: "The open anomalies" }).getAttribute("href"), "/alerts?anomalies=open");
      await ap.getByTestId("notification-log").locator("tbody tr").first().waitFor();
      const logText = await ap.getByTestId("notification-log").innerText();
      assert.ok(logText.includes("fired"), `notification log: ${logText}`);
      await ap.screenshot({ path: join(screenshotDir, "alert-detail.png"), fullPage: true });
      const onAlert = await a11yViolations(ap);
      if (onAlert.length) a11y["alert-detail"] = onAlert;

      // The overview of two weeks of history, with the anomalies still open.
      await ap.getByRole("link", { name: "Overview" }).click();
      await ap.getByTestId("volume-chart").locator("canvas").waitFor();
      await ap.screenshot({ path: join(screenshotDir, "overview-history.png"), fullPage: true });
      const onOverview = await a11yViolations(ap);
      if (onOverview.length) a11y["overview-history"] = onOverview;
    } finally {
      await context2.close();
    }
  });

  it("signs out", async () => {
    await page.getByRole("button", { name: "Sign out" }).click();
    await page.waitForURL((u) => u.pathname === "/login");
    await page.getByText("You are signed out.").waitFor();
    await shot("login");
    await page.goto(`${server.baseURL}/events`);
    await page.waitForURL((u) => u.pathname === "/login");
    const res = await context.request.get(`${server.baseURL}/api/session`);
    assert.equal(res.status(), 401);
  });

  it("has no serious accessibility violations on any page", () => {
    assert.deepEqual(a11y, {});
  });

  it("logged no errors in the page", () => {
    // 401s after sign-out and revocation are expected; anything else is a bug.
    const unexpected = pageErrors.filter((e) => !/401|Unauthorized/i.test(e));
    assert.deepEqual(unexpected, []);
  });
});
