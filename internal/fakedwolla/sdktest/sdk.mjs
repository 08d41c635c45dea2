// Drives the fake Dwolla with Dwolla's own Node SDK (dwolla-v2), as a
// new user would: customers, banks, micro-deposits, transfers, sandbox
// simulations, a failure, a late return, a cancel, paging and validation
// errors. Run by TestDwollaNodeSDK (sdk_test.go) with DWOLLA_FAKE_URL,
// DWOLLA_KEY and DWOLLA_SECRET; it prints one JSON summary line and exits
// non-zero on the first surprise.
import assert from "node:assert/strict";
import { createRequire } from "node:module";

const require = createRequire(process.env.HOOKLENS_ROOT + "/package.json");
const dwolla = require("dwolla-v2");

const base = process.env.DWOLLA_FAKE_URL;
const client = new dwolla.Client({ key: process.env.DWOLLA_KEY, secret: process.env.DWOLLA_SECRET, environment: "sandbox" });
// The SDK knows only Dwolla's hosts; point it at the fake.
client.apiUrl = base;
client.tokenUrl = base + "/token";

const summary = {};

async function expectError(promise, status, code) {
  try {
    await promise;
  } catch (err) {
    assert.equal(err.status, status, `status of ${code}: ${JSON.stringify(err.body)}`);
    assert.equal(err.body.code, code);
    return err.body;
  }
  assert.fail(`expected ${status} ${code}`);
}

let n = 0;
async function customer(firstName, type = "personal") {
  n++;
  const body = {
    firstName, lastName: "Tester", email: `sdk-${n}-${Date.now()}@example.com`, type,
    address1: "99-99 33rd St", city: "Some City", state: "NY", postalCode: "11101",
    dateOfBirth: "1970-01-01", ssn: "1234",
  };
  if (type === "business") Object.assign(body, { businessName: "Sdk Co", businessType: "llc", businessClassification: "9ed3f670-7d6f-11e3-b1ce-5404a6144203" });
  const res = await client.post("customers", body);
  assert.equal(res.status, 201);
  return res.headers.get("location");
}

async function bank(customerUrl, name, viaMicroDeposits) {
  const body = viaMicroDeposits
    ? { routingNumber: "222222226", accountNumber: String(100000 + n++), bankAccountType: "checking", name }
    : { plaidToken: `processor-sandbox-${n++}`, name };
  const res = await client.post(`${customerUrl}/funding-sources`, body);
  assert.equal(res.status, 201);
  const fs = res.headers.get("location");
  if (viaMicroDeposits) {
    const init = await client.post(`${fs}/micro-deposits`);
    assert.equal(init.status, 201);
    await client.post("sandbox-simulations");
    const ok = await client.post(`${fs}/micro-deposits`, { amount1: { value: "0.03", currency: "USD" }, amount2: { value: "0.07", currency: "USD" } });
    assert.equal(ok.status, 200);
  }
  const got = await client.get(fs);
  assert.equal(got.body.status, "verified");
  return fs;
}

async function transfer(source, destination, value, correlationId) {
  const res = await client.post("transfers", {
    _links: { source: { href: source }, destination: { href: destination } },
    amount: { currency: "USD", value }, correlationId,
  });
  assert.equal(res.status, 201);
  return res.headers.get("location");
}

const simulate = async () => (await client.post("sandbox-simulations", {})).body.total;

// The root and the account.
const root = await client.get("/");
const account = await client.get(root.body._links.account.href);
assert.ok(account.body.id);
const accountSources = await client.get(`${root.body._links.account.href}/funding-sources`);
assert.ok(accountSources.body._embedded["funding-sources"].length >= 1);

// Validation errors, in Dwolla's shape.
const invalid = await expectError(client.post("customers", { firstName: "Jane", lastName: "Doe", type: "personal" }), 400, "ValidationError");
assert.ok(invalid._embedded.errors.some((e) => e.path === "/email" && e.code === "Required"));
await expectError(client.get("customers/00000000-0000-4000-8000-000000000000"), 404, "NotFound");

// Customers and the sandbox's magic names.
const alice = await customer("Alice");
const bob = await customer("Bob");
const retry = await customer("retry");
assert.equal((await client.get(alice)).body.status, "verified");
const retried = await client.get(retry);
assert.equal(retried.body.status, "retry");
assert.ok(retried.body._links["retry-verification"]);
const dup = await expectError(client.post("customers", { firstName: "A", lastName: "B", email: (await client.get(alice)).body.email }), 400, "ValidationError");
assert.equal(dup._embedded.errors[0].code, "Duplicate");
const fixed = await client.post(retry, {
  firstName: "Rita", lastName: "Tester", email: retried.body.email, type: "personal", address1: "1 Main St", city: "Des Moines",
  state: "IA", postalCode: "50309", dateOfBirth: "1970-01-01", ssn: "123456789",
});
assert.equal(fixed.body.status, "verified");

// Banks: one verified with micro-deposits, one that returns R01, one R03-late.
const aliceBank = await bank(alice, "Alice checking", true);
const bobBank = await bank(bob, "Bob checking", false);
const r01 = await bank(alice, "R01", false);
const late = await bank(bob, "R03-late", false);

// A whole transfer: bank to bank, two simulations.
const ok = await transfer(aliceBank, bobBank, "25.00", "sdk-ok");
let t = await client.get(ok);
assert.equal(t.body.status, "pending");
assert.equal(t.body.amount.value, "25.00");
assert.ok(t.body._links["funding-transfer"]);
assert.ok(t.body._links.cancel);
assert.ok((await simulate()) >= 1);
t = await client.get(ok);
assert.equal(t.body.status, "processed");
const funded = t.body._links["funded-transfer"].href;
assert.equal((await client.get(funded)).body.status, "pending");
await simulate();
assert.equal((await client.get(funded)).body.status, "processed");

// A return: R01 fails the debit, and the failure says why.
const bad = await transfer(r01, bobBank, "40.00", "sdk-r01");
await simulate();
t = await client.get(bad);
assert.equal(t.body.status, "failed");
const failure = await client.get(t.body._links.failure.href);
assert.equal(failure.body.code, "R01");
assert.equal(failure.body.description, "Insufficient Funds");

// A late return: R03-late completes, then fails on the next simulation.
const lateT = await transfer(late, aliceBank, "12.34");
await simulate();
assert.equal((await client.get(lateT)).body.status, "processed");
await simulate();
t = await client.get(lateT);
assert.equal(t.body.status, "failed");
assert.equal((await client.get(t.body._links.failure.href)).body.code, "R03");
assert.equal((await client.get(late)).body.removed, true);

// A cancel before export.
const cancelled = await transfer(aliceBank, bobBank, "5.00");
const c = await client.post(cancelled, { status: "cancelled" });
assert.equal(c.body.status, "cancelled");
await expectError(client.post(cancelled, { status: "cancelled" }), 400, "ValidationError");
await expectError(transfer(aliceBank, bobBank, "-1"), 400, "ValidationError");

// Paging: one transfer a page, following _links.next.
let page = await client.get(`${alice}/transfers`, { limit: 1 });
const total = page.body.total;
let seen = page.body._embedded.transfers.length;
while (page.body._links.next) {
  page = await client.get(page.body._links.next.href);
  seen += page.body._embedded.transfers.length;
}
assert.equal(seen, total);
assert.ok(total >= 3);

// Every event's resource exists and agrees with its topic.
const events = (await client.get("events", { limit: 200 })).body._embedded.events;
const failedEvents = events.filter((e) => e.topic === "customer_bank_transfer_failed");
assert.ok(failedEvents.length >= 2, "bank transfer failures fired");
for (const e of failedEvents) {
  assert.equal((await client.get(e._links.resource.href)).body.status, "failed");
}
for (const e of events) {
  await client.get(e._links.resource.href);
}
summary.events = events.length;
summary.transfers = total;
summary.topics = [...new Set(events.map((e) => e.topic))].sort();
console.log(JSON.stringify(summary));
