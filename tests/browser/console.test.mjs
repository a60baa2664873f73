// The console in a real browser: starts `userplane serve` (USERPLANE_BIN) on a free port
// with a temporary database and the demo world, drives Debian's Chromium headless
// (CHROMIUM, default /usr/bin/chromium) with playwright-core, and checks what a person
// would see: sign-in, the demo user, a deactivation that kills her session, the journal
// entry, keyboard operation, the phone width. Screenshots go to ARTIFACTS
// (default target/ci-artifacts/console). Stops itself after DEADLINE_MS.

import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, existsSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { chromium } from "playwright-core";

const DEADLINE_MS = 120_000;
const binary = process.env.USERPLANE_BIN;
const browserPath = process.env.CHROMIUM || "/usr/bin/chromium";
const artifacts = resolve(process.env.ARTIFACTS || "target/ci-artifacts/console");
const ZOOM = "uPdemoZoomAcct01";
const CLOUDFLARE = "023e105f4ecef8ad9ca31a8372d0c353";
const LENA = "lena.licensed@example.com";
const ADMIN = `console-test-${process.pid}-${Date.now()}`;

const started = Date.now();
let server = null;
let browser = null;
let work = null;
let passed = 0;

function fail(message) {
  throw new Error(message);
}

function check(condition, message) {
  if (!condition) fail(message);
  passed += 1;
}

async function step(name, body) {
  const at = Date.now();
  await body();
  console.log(`ok   ${name} (${Date.now() - at} ms)`);
}

function freePort() {
  return new Promise((ok, ko) => {
    const probe = createServer();
    probe.once("error", ko);
    probe.listen(0, "127.0.0.1", () => {
      const { port } = probe.address();
      probe.close(() => ok(port));
    });
  });
}

async function control(base, method, path, body) {
  const response = await fetch(`${base}/_userplane${path}`, {
    method,
    headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : null };
}

async function startServer() {
  if (!binary || !existsSync(binary)) fail(`USERPLANE_BIN must name the userplane binary (got ${binary})`);
  work = mkdtempSync(join(tmpdir(), "userplane-console-"));
  const port = await freePort();
  const log = [];
  server = spawn(
    binary,
    ["serve", "--listen", `127.0.0.1:${port}`, "--database-url", `sqlite://${join(work, "userplane.db")}`,
      "--admin-token", ADMIN, "--quiet"],
    { stdio: ["ignore", "pipe", "pipe"] },
  );
  server.stdout.on("data", (d) => log.push(String(d)));
  server.stderr.on("data", (d) => log.push(String(d)));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i += 1) {
    if (server.exitCode !== null) fail(`userplane exited with ${server.exitCode}:\n${log.join("")}`);
    try {
      if ((await fetch(`${base}/_userplane/health`)).ok) return base;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  fail(`userplane did not answer on ${base}:\n${log.join("")}`);
}

async function stop() {
  if (browser) await browser.close().catch(() => {});
  if (server && server.exitCode === null) {
    server.kill("SIGTERM");
    await new Promise((r) => {
      const t = setTimeout(() => { server.kill("SIGKILL"); r(); }, 5000);
      server.once("exit", () => { clearTimeout(t); r(); });
    });
  }
  if (work) rmSync(work, { recursive: true, force: true });
}

function userRow(page, email) {
  return page.locator(`#users-body tr[data-email="${email}"]`);
}

async function shot(page, name) {
  const path = join(artifacts, `${name}.png`);
  await page.screenshot({ path, fullPage: true });
  console.log(`     screenshot ${path}`);
}

async function main() {
  mkdirSync(artifacts, { recursive: true });
  if (!existsSync(browserPath)) fail(`no Chromium at ${browserPath} (apt-get install chromium, or set CHROMIUM)`);
  const base = await startServer();
  const consoleUrl = `${base}/_userplane/console`;

  // A live SSO session for the demo user, as a person would have before offboarding.
  const login = await control(base, "POST", `/tenants/${ZOOM}/sessions`, { user: LENA, kind: "sso" });
  check(login.status === 201, `SSO login: ${JSON.stringify(login)}`);
  const sso = login.body.token;

  browser = await chromium.launch({ executablePath: browserPath, headless: true, args: ["--no-sandbox"] });
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  // Chromium logs every 4xx answer as "Failed to load resource"; those are expected here
  // (a wrong token, the panels' 404s). Anything else logged as an error is a problem.
  page.on("console", (m) => {
    if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) problems.push(`console error: ${m.text()}`);
  });
  const requested = [];
  page.on("request", (r) => requested.push(r.url()));

  await step("the page loads and asks for the admin token", async () => {
    const response = await page.goto(consoleUrl);
    check(response.status() === 200, `GET console: ${response.status()}`);
    await page.getByLabel("Admin token").waitFor();
    check(await page.locator("#app").isHidden(), "the app is hidden before sign-in");
    await shot(page, "01-sign-in");
  });

  await step("a wrong token is refused with a message", async () => {
    await page.getByLabel("Admin token").fill("not-the-token");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "not the admin token" }).waitFor();
  });

  await step("signs in with the admin token and lists the demo tenants", async () => {
    await page.getByLabel("Admin token").fill(ADMIN);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("button", { name: new RegExp(ZOOM) }).waitFor();
    await page.getByRole("button", { name: new RegExp(CLOUDFLARE) }).waitFor();
  });

  await step("shows the demo user active with her live SSO session", async () => {
    await page.getByRole("button", { name: new RegExp(ZOOM) }).click();
    const row = userRow(page, LENA);
    await row.waitFor();
    await row.locator(".status", { hasText: /^active$/ }).waitFor();
    await row.locator('[data-kind="sso"]', { hasText: /^1$/ }).waitFor();
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 1280, `the page is ${width} px wide at 1280 px`);
    const table = await page.locator("#users").boundingBox();
    check(table.x + table.width <= 1280, `the users table overflows: ${JSON.stringify(table)}`);
    await shot(page, "02-users-before");
  });

  await step("deactivate: status, session count and journal change", async () => {
    const row = userRow(page, LENA);
    await row.getByRole("button", { name: `Deactivate ${LENA}` }).click();
    await row.locator(".status", { hasText: /^inactive$/ }).waitFor();
    await row.locator('[data-kind="sso"]', { hasText: /^0$/ }).waitFor();
    await page.locator('#journal li[data-action="user.deactivated"]', { hasText: LENA }).waitFor();
    await page.getByRole("status").filter({ hasText: `Deactivated ${LENA}` }).waitFor();
    const dead = await control(base, "POST", "/introspect", { token: sso });
    check(dead.body.active === false && dead.body.reason === "user_deactivated", `introspect: ${JSON.stringify(dead.body)}`);
    await shot(page, "03-users-after-deactivate");
  });

  await step("a change made elsewhere shows up by itself (polling)", async () => {
    const other = await control(base, "POST", `/tenants/${ZOOM}/sessions`, { user: "alex.assistant@example.com", kind: "sso" });
    check(other.status === 201, "second login");
    await userRow(page, "alex.assistant@example.com").locator('[data-kind="sso"]', { hasText: /^1$/ }).waitFor({ timeout: 5000 });
    await page.locator('#journal li[data-action="token.issued"]', { hasText: "alex.assistant@example.com" }).waitFor({ timeout: 5000 });
  });

  await step("panels of endpoints the server lacks are hidden, of those it has shown", async () => {
    for (const [panel, path] of [["#faults-panel", "faults"], ["#requests-panel", "requests"]]) {
      const status = (await control(base, "GET", `/tenants/${ZOOM}/${path}`)).status;
      check(status === 200 || status === 404, `${path}: ${status}`);
      const visible = await page.locator(panel).isVisible();
      check(visible === (status === 200), `${panel} visible=${visible} while the endpoint answers ${status}`);
    }
  });

  const keyboard = await context.newPage();
  keyboard.on("pageerror", (e) => problems.push(`page error: ${e.message}`));

  await step("#token= signs in and leaves the address bar", async () => {
    await keyboard.goto(`${consoleUrl}#token=${encodeURIComponent(ADMIN)}`);
    await keyboard.getByRole("button", { name: new RegExp(ZOOM) }).waitFor();
    check(!keyboard.url().includes("token"), `the token stayed in the URL: ${keyboard.url()}`);
    check(!requested.some((u) => u.includes(ADMIN)), "the token appeared in a requested URL");
  });

  await step("keyboard only: Tab to the tenant and the button, Space activates", async () => {
    // Start from the top of the page and Tab until the Zoom tenant's button is focused.
    await keyboard.locator("body").focus();
    const focusedIs = (selector) => keyboard.evaluate((s) => document.activeElement?.matches(s) ?? false, selector);
    let found = false;
    for (let i = 0; i < 30 && !found; i += 1) {
      await keyboard.keyboard.press("Tab");
      found = await focusedIs(`button[data-account="${ZOOM}"]`);
    }
    check(found, "Tab never reached the Zoom tenant");
    const outline = await keyboard.evaluate(() => getComputedStyle(document.activeElement).outlineStyle);
    check(outline !== "none", `no visible focus on the tenant button (outline ${outline})`);
    await keyboard.keyboard.press("Enter");
    await userRow(keyboard, LENA).locator(".status", { hasText: /^inactive$/ }).waitFor();
    found = false;
    const activate = `#users-body tr[data-email="${LENA}"] button.toggle`;
    for (let i = 0; i < 80 && !found; i += 1) {
      await keyboard.keyboard.press("Tab");
      found = await focusedIs(activate);
    }
    check(found, "Tab never reached the demo user's Activate button");
    await shot(keyboard, "04-keyboard-focus");
    await keyboard.keyboard.press("Space");
    await userRow(keyboard, LENA).locator(".status", { hasText: /^active$/ }).waitFor();
    // Re-activation revives no session; the polled table kept the focus where it was.
    await keyboard.waitForTimeout(1500);
    check((await userRow(keyboard, LENA).locator('[data-kind="sso"]').textContent()) === "0", "a session came back");
    check(await focusedIs(activate), "the refresh took the focus away");
    check((await keyboard.locator(activate).textContent()) === "Deactivate", "the button did not turn into Deactivate");
    await keyboard.keyboard.press("Enter");
    await userRow(keyboard, LENA).locator(".status", { hasText: /^inactive$/ }).waitFor();
  });

  await step("revoke on Cloudflare ends the Access session", async () => {
    const access = await control(base, "POST", `/tenants/${CLOUDFLARE}/sessions`, { user: "jdoe@example.com", kind: "access", app: "Wiki" });
    check(access.status === 201, `access login: ${JSON.stringify(access.body)}`);
    await keyboard.getByRole("button", { name: new RegExp(CLOUDFLARE) }).click();
    const row = userRow(keyboard, "jdoe@example.com");
    await row.locator('[data-kind="access"]', { hasText: /^1$/ }).waitFor();
    await row.getByRole("button", { name: "Revoke every session of jdoe@example.com" }).click();
    await row.locator('[data-kind="access"]', { hasText: /^0$/ }).waitFor();
    await keyboard.locator('#journal li[data-action="access.revoked"]').waitFor();
    const dead = await control(base, "POST", "/introspect", { token: access.body.token });
    check(dead.body.reason === "access_revoked", `introspect: ${JSON.stringify(dead.body)}`);
  });

  await step("the fault-rule and request-journal panels render the contract's shapes", async () => {
    // Answered by the browser itself, in the shapes the endpoints promise (contracts): the
    // panels are checked whether or not this server has the endpoints yet.
    const panels = await context.newPage();
    panels.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
    const rule = { id: "rule-1", match: { operation: "zoom.users.status.update" }, effect: { status: 503 },
      probability: 0.5, seed: 7, times: 2, after: 0, expires_at: null, fired: 1, created_at: "2026-12-01T00:00:00Z" };
    const request = { seq: 12, at: "2026-12-01T10:11:12Z", wall_at: "2026-12-01T10:11:12Z", request_id: "r1", method: "PUT",
      path: "/v2/users/x/status", query: null, credential_id: null, user: null, operation: "zoom.users.status.update",
      status: 503, duration_ms: 1.25, error_code: null, fault: { rule: "rule-1", effect: "status" } };
    await panels.route(/\/_userplane\/tenants\/[^/]+\/faults$/, (r) => r.fulfill({ json: { rules: [rule] } }));
    let served = false;
    await panels.route(/\/_userplane\/tenants\/[^/]+\/requests\?/, (r) => {
      const first = !served;
      served = true;
      r.fulfill({ json: first ? { requests: [request], next_after: 12 } : { requests: [], next_after: null } });
    });
    await panels.setViewportSize({ width: 1280, height: 800 });
    await panels.goto(`${consoleUrl}#token=${encodeURIComponent(ADMIN)}`);
    await panels.locator("#faults-panel").getByText("zoom.users.status.update").waitFor();
    await panels.locator("#faults-panel").getByText("p=0.5, 2×").waitFor();
    await panels.locator("#requests-panel").getByText("PUT /v2/users/x/status").waitFor();
    await panels.locator('#requests tr[data-seq="12"]').getByText("503").waitFor();
    await panels.waitForTimeout(1200);
    check((await panels.locator("#requests tr").count()) === 1, "a request was shown twice");
    await shot(panels, "06-faults-and-requests");
    await panels.close();
  });

  await step("phone width (390 px): no sideways scrolling, buttons usable", async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.waitForTimeout(300);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    check(width <= 390, `the page is ${width} px wide at 390 px`);
    const button = userRow(page, LENA).locator("button.toggle");
    const box = await button.boundingBox();
    check(box && box.x >= 0 && box.x + box.width <= 390 && box.height >= 30, `button box ${JSON.stringify(box)}`);
    await shot(page, "05-phone");
  });

  check(problems.length === 0, `the page reported problems:\n${problems.join("\n")}`);
}

const deadline = setTimeout(async () => {
  console.error(`FAIL the browser test ran past ${DEADLINE_MS} ms`);
  await stop();
  process.exit(1);
}, DEADLINE_MS);

try {
  await main();
  console.log(`PASS console in Chromium: ${passed} checks in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exitCode = 0;
} catch (err) {
  console.error(`FAIL ${err && err.stack ? err.stack : err}`);
  process.exitCode = 1;
} finally {
  clearTimeout(deadline);
  await stop();
}
