/**
 * The dashboard in a real browser: Debian's Chromium driven by playwright-core against a
 * `coco trustee` process. The pages load, refuse access without an admin token, show a
 * denial's reason after signing in with the form, and add new attestations and denials live.
 * Screenshots go to $COCO_SCREENSHOTS when set (docs/img/ holds the ones in
 * docs/operations.md), else to a temporary folder that is removed.
 */
import assert from "node:assert/strict";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { startTrusteeProcess, type TrusteeProcess } from "../helpers/trustee-process.js";
import { call, getResource, handshake } from "./trustee-client.js";

const CHROMIUM = "/usr/bin/chromium";

type Playwright = typeof import("playwright-core");
let playwright: Playwright | undefined;
try {
  playwright = await import("playwright-core");
} catch {
  playwright = undefined;
}
const skip: string | false = !existsSync(CHROMIUM)
  ? `${CHROMIUM} is absent (apt-get install chromium; scripts/setup installs it)`
  : playwright === undefined
    ? "playwright-core is not installed (npm ci)"
    : false;

describe("the dashboard in Chromium", { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), "coco-dashboard-browser-"));
  const shots = process.env.COCO_SCREENSHOTS ?? join(dir, "shots");
  let t: TrusteeProcess;
  let browser: import("playwright-core").Browser | undefined;
  let adminToken: string;

  before(async () => {
    mkdirSync(shots, { recursive: true });
    t = await startTrusteeProcess(dir);
    adminToken = readFileSync(t.adminTokenFile, "utf8").trim();
    await t.putResource("default/key/db", "db-password-never-shown");
    await t.putResource("default/cert/web", "web-key-never-shown");
    // One released resource and one refusal to show: the sample TEE under allow-all, then
    // under the default policy, which refuses it.
    await t.allowAllResources();
    const ok = await handshake(t.url);
    assert.equal((await getResource(t.url, "default/key/db", ok)).answer.status, 200);
    await t.admin(["set-resource-policy", "--default"]);
    const refused = await handshake(t.url);
    assert.equal((await getResource(t.url, "default/key/db", refused)).answer.status, 401);
    // An attestation refused for its binding, and reference values with their provenance.
    const tampered = await handshake(t.url, {
      tamper: (att) => {
        const ev = att["tee-evidence"] as { primary_evidence: { report_data: string } };
        ev.primary_evidence.report_data = Buffer.alloc(48, 1).toString("base64");
      },
    });
    assert.equal(tampered.attest.status, 401);
    await t.admin([
      "register-reference-values",
      "--snp-launch-digest",
      "ab".repeat(48),
      "--mr-td",
      "cd".repeat(48),
      "--expires",
      "90d",
      "--note",
      "release 2026.12",
    ]);
    // Events reach the store within a second; the page reads them from there.
    await new Promise((r) => setTimeout(r, 1200));
    browser = await (playwright as Playwright).chromium.launch({
      executablePath: CHROMIUM,
      // As root Chromium needs --no-sandbox; the pages are our own, on loopback.
      args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
    });
  });

  /** Submits the sign-in form; fails with the page's refusal when it is refused. */
  async function signIn(page: import("playwright-core").Page, token: string): Promise<void> {
    await page.fill("#token", token);
    await Promise.all([page.waitForNavigation(), page.click("button")]);
    const refusal = page.locator("#refusal");
    if ((await refusal.count()) > 0) assert.fail(`sign-in refused: ${await refusal.innerText()}`);
    assert.equal(page.url(), `${t.url}/kbs/v0/dashboard`);
    assert.equal(await page.title(), "Trustee dashboard");
  }

  after(async () => {
    await browser?.close();
    await t?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("without an admin token the dashboard is refused with the sign-in page", async () => {
    const page = await (browser as import("playwright-core").Browser).newPage();
    try {
      const r = await page.goto(`${t.url}/kbs/v0/dashboard`);
      assert.equal(r?.status(), 401);
      assert.match(await page.locator("#refusal").innerText(), /^Access refused: /);
      assert.equal(await page.locator("#denials").count(), 0);
      assert.equal(await page.content().then((h) => h.includes("default/key/db")), false);
      await page.screenshot({ path: join(shots, "dashboard-refused.png") });
    } finally {
      await page.close();
    }
  });

  test("signed in, the overview shows the denial's reason, names only, and new decisions live", async () => {
    const context = await (browser as import("playwright-core").Browser).newContext({
      viewport: { width: 1280, height: 900 },
    });
    const page = await context.newPage();
    const consoleErrors: string[] = [];
    page.on("console", (m) => {
      if (m.type() === "error") consoleErrors.push(m.text());
    });
    try {
      await page.goto(`${t.url}/kbs/v0/dashboard/login`);
      await signIn(page, adminToken);
      const denials = page.locator("#denials");
      assert.match(await denials.innerText(), /ERR_KBS_POLICY_DENY: Access denied by policy/);
      const attestations = page.locator("#attestations");
      assert.match(await attestations.innerText(), /cpu0 \w+: /);
      assert.match(await page.locator("#resources").innerText(), /default\/cert\/web/);
      assert.match(await attestations.innerText(), /deny.*ERR_\w+: .*report/is);
      assert.match(
        await page.locator("#reference-values").innerText(),
        /snp_launch_measurement\s+\S+\s+valid\s+snp-launch-digest/,
      );
      const html = await page.content();
      assert.ok(!html.includes("never-shown"), "a resource value is on the page");
      assert.ok(!html.includes(adminToken), "the token is on the page");
      // The cookie is HttpOnly: the page's script cannot read it.
      assert.equal(await page.evaluate("document.cookie"), "");

      // Live: the stream is open, then new decisions appear without a reload.
      await page.locator("#live.on").waitFor({ timeout: 30_000 });
      const noToken = await call(`${t.url}/kbs/v0/resource/default/key/db`, "GET");
      assert.equal(noToken.status, 401);
      await page
        .locator("#denials tbody tr.fresh", { hasText: "ERR_KBS_TOKEN_NOT_FOUND" })
        .waitFor({ timeout: 30_000 });
      const h = await handshake(t.url);
      assert.equal(h.attest.status, 200);
      await page
        .locator("#attestations tbody tr.fresh", { hasText: "sample" })
        .waitFor({ timeout: 30_000 });
      await page.screenshot({ path: join(shots, "dashboard-overview.png"), fullPage: true });
      assert.deepEqual(consoleErrors, [], "the page logged errors (a CSP violation?)");

      // Signing out: the dashboard is refused again in the same browser.
      await Promise.all([
        page.waitForURL(`${t.url}/kbs/v0/dashboard/login`),
        page.click("text=Sign out"),
      ]);
      const again = await page.goto(`${t.url}/kbs/v0/dashboard`);
      assert.equal(again?.status(), 401);
    } finally {
      await context.close();
    }
  });

  test("a bad token is refused with its reason; the policies are listed", async () => {
    const page = await (browser as import("playwright-core").Browser).newPage();
    try {
      await page.goto(`${t.url}/kbs/v0/dashboard/login`);
      // A token signed by another key.
      const forged = `${adminToken.slice(0, adminToken.lastIndexOf(".") + 1)}${"A".repeat(86)}`;
      await page.fill("#token", forged);
      await page.click("button");
      assert.match(await page.locator("#refusal").innerText(), /Access refused: .+/);
      await t.admin(["set-resource-policy", "--allow-all"]);
      await signIn(page, adminToken);
      assert.match(await page.locator("#resource-policies").innerText(), /\S/);
      assert.match(await page.locator("#attestation-policies").innerText(), /\S/);
    } finally {
      await page.close();
    }
  });
});
