// The README page example, served from ANOTHER origin than the bus as users do (issue 14): a plain HTTP server on its
// own loopback port serves the page, which loads the client from the bus with an absolute script URL and
// connects with the bus's address and the default path. With the page's origin in --allowed-origins it
// works; without, the server refuses the upgrade with 403 (spec §1.5) and the browser client's error says
// what to do, since the browser itself only reports "1006".
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer, request } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { chromium } from "playwright-core";
import { readmeExample } from "../helpers/readme.mjs";
import { TestServer } from "../helpers/server.mjs";
import { UNIT } from "../helpers/wait.mjs";

const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const CHROMIUM_FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

/** A loopback HTTP server with one page: another origin than the bus (another port). */
async function servePage(html) {
  const server = createServer((request, response) => {
    response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    response.end(html);
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { server, origin: `http://127.0.0.1:${server.address().port}` };
}

/** The HTTP status the bus answers a WebSocket upgrade carrying `origin` with (101 when it accepts). */
function upgradeStatus(bus, origin) {
  return new Promise((resolve, reject) => {
    const upgrade = request({
      host: "127.0.0.1", port: bus.port, path: "/ws/bus",
      headers: {
        Connection: "Upgrade", Upgrade: "websocket", Origin: origin, Host: bus.address,
        "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
      },
    });
    upgrade.on("response", (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    upgrade.on("upgrade", (response, socket) => {
      socket.destroy();
      resolve(101);
    });
    upgrade.on("error", reject);
    upgrade.end();
  });
}

describe("a page from another origin", () => {
  let context;
  let profile;
  const cleanups = [];

  before(async () => {
    profile = mkdtempSync(join(tmpdir(), "ksps-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS, timeout: 30 * UNIT,
    });
  });

  after(async () => {
    for (const cleanup of cleanups.reverse()) {
      await cleanup();
    }
    await context?.close();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  /** A bus (with `args`) and a page for it on another port; returns both and the open browser page. */
  async function setUp(args) {
    // The page's port is known before the bus starts, so that the bus can allow its origin.
    const site = await servePage("");
    cleanups.push(() => new Promise((resolve) => site.server.close(resolve)));
    const bus = await TestServer.start({ args: args(site.origin) });
    cleanups.push(() => bus.stop());
    site.server.removeAllListeners("request");
    site.server.on("request", (request, response) => {
      response.writeHead(200, { "content-type": "text/html; charset=utf-8" });
      // The README's page example, as written, with the test bus's address for localhost:9313.
      response.end(readmeExample("**In a page.**", "html", bus.address));
    });
    const page = await context.newPage();
    page.on("console", (message) => process.stderr.write(`[page] ${message.text()}\n`));
    cleanups.push(() => page.close());
    await page.goto(`${site.origin}/index.html`);
    assert.notEqual(new URL(site.origin).port, String(bus.port), "the page and the bus must be two origins");
    return { bus, page, origin: site.origin };
  }

  /** The page's log once it has `lines` lines. */
  async function pageLog(page, lines) {
    await page.waitForFunction(
      (count) => document.getElementById("log").textContent.trim().split("\n").length >= count, lines, { timeout: 10 * UNIT },
    );
    return page.evaluate(() => document.getElementById("log").textContent.trim().split("\n"));
  }

  test("with --allowed-origins listing the page's origin, the README page connects, subscribes and gets its ack", async () => {
    const { page } = await setUp((origin) => ["--allowed-origins", origin]);
    assert.deepEqual(await pageLog(page, 2), ['received "From JS!"', "answered by 1 subscriber(s)"]);
  });

  test("without it the upgrade is refused (403) and the error names --allowed-origins with the page's origin", async () => {
    const { bus, page, origin } = await setUp(() => []);
    // The refusal is the server's, not a network failure: the same upgrade with the page's Origin gets 403.
    assert.equal(await upgradeStatus(bus, origin), 403);
    const [line] = await pageLog(page, 1);
    assert.match(line, /^ConnectionFailed: could not connect to ws:\/\/127\.0\.0\.1:\d+\/ws\/bus: /);
    assert.match(line, /403 Forbidden/);
    assert.ok(line.endsWith(`ksps serve --allowed-origins ${origin}`), line);
  });
});
