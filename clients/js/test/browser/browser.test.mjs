// The client in a real browser: headless Chromium (Debian's package, never downloaded) driven by
// playwright-core. The page comes through a loopback front door that passes everything else to the ksps
// server (see helpers/front-door.mjs), so the page, its <script src="/ksps.js"> and its WebSocket share
// one origin. The page subscribes, publishes, does ack round trips and survives a server restart on the
// same port with its subscription restored.
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, describe, test } from "node:test";
import { chromium } from "playwright-core";
import { connect, record, subscribed, synced } from "../helpers/clients.mjs";
import { FrontDoor } from "../helpers/front-door.mjs";
import { TestServer } from "../helpers/server.mjs";
import { deferred, Inbox, UNIT, withTimeout } from "../helpers/wait.mjs";

const here = fileURLToPath(new URL(".", import.meta.url));
const bundle = readFileSync(join(here, "../../dist/ksps.browser.js"), "utf8");
const CHROMIUM = process.env.CHROMIUM_PATH || "/usr/bin/chromium";
const CHROMIUM_FLAGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

describe("browser", () => {
  let server;
  let context;
  let page;
  let peer;
  let profile;
  let bundleSource;
  let door;

  before(async () => {
    server = await TestServer.start();
    profile = mkdtempSync(join(tmpdir(), "ksps-chromium-"));
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_FLAGS,
      timeout: 30 * UNIT,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.on("console", (message) => process.stderr.write(`[page] ${message.text()}\n`));
    // The bundle comes from the server when it serves one (GET /ksps.js); otherwise from dist/.
    const served = await fetch(`http://${server.address}/ksps.js`);
    const pages = { "/__test__/page.html": { type: "text/html; charset=utf-8", body: readFileSync(join(here, "page.html")) } };
    if (served.ok) {
      bundleSource = "the ksps server";
      assert.equal(await served.text(), bundle, "the server serves a different bundle than dist/ksps.browser.js");
    } else {
      bundleSource = "dist/ksps.browser.js (the server has no bundle)";
      pages["/ksps.js"] = { type: "text/javascript; charset=utf-8", body: bundle };
    }
    door = await FrontDoor.open(pages, () => server.port);
    await page.goto(`http://${door.address}/__test__/page.html`);
    peer = await connect(server, { ReconnectInitialDelay: 0.05 * UNIT, ReconnectMaxDelay: 0.2 * UNIT });
  });

  after(async () => {
    await peer?.Close();
    await context?.close();
    await door?.close();
    await server?.stop();
    if (profile) rmSync(profile, { recursive: true, force: true });
  });

  test("the page loads the client bundle and connects with the page's host as default address", async (t) => {
    t.diagnostic(`bundle loaded from: ${bundleSource}`);
    assert.equal(await page.evaluate(() => typeof BusClient.Client.NewClient), "function");
    const id = await page.evaluate(() => window.start("browser-1"));
    assert.equal(id, "browser-1");
    await page.waitForFunction(() => window.state.connects === 1, null, { timeout: 5 * UNIT });
  });

  test("the page receives publications and direct messages, and publishes", async () => {
    const fromBrowser = record(peer, "from-browser");
    await synced(peer, "from-browser", fromBrowser);
    peer.Publish("to-browser", { hello: "page" });
    await page.waitForFunction(() => window.state.received.length === 1, null, { timeout: 5 * UNIT });
    assert.deepEqual(await page.evaluate(() => window.state.received[0]), { data: { hello: "page" }, from: peer.Id });
    peer.PublishToID("browser-1", "direct");
    await page.waitForFunction(() => window.state.direct.length === 1, null, { timeout: 5 * UNIT });
    await page.evaluate(() => window.client.Publish("from-browser", { from: "the page" }));
    assert.deepEqual(await fromBrowser.next(), { data: { from: "the page" }, from: "browser-1" });
  });

  test("ack round trips both ways", async () => {
    const answered = new Inbox();
    await subscribed(peer, "browser-acks", (message) => answered.push(message));
    const result = await page.evaluate(() => window.publishWithAck("browser-acks", "From JS!", 3000));
    assert.equal(result.first.success, true);
    assert.equal(result.first.response.client_id, peer.Id);
    assert.deepEqual(Object.keys(result.responses), [peer.Id]);
    assert.equal(result.responses[peer.Id].success, true);
    assert.equal(result.complete, true);
    assert.equal((await answered.next()).data, "From JS!");

    const responses = await peer.PublishWithAck("to-browser", "needs an ack", 5 * UNIT).Wait();
    assert.equal(responses["browser-1"].success, true);
  });

  test("publications the page makes just before Close all arrive, in order", async () => {
    // Close sends its close frame after the queued publications and lets the browser finish the closing
    // handshake; dropping the socket with the server's deliveries unread would reset the connection and
    // lose what the server had not read yet.
    const topic = "browser-burst";
    const count = 2000;
    let arrived = 0;
    const all = deferred();
    const received = [];
    await subscribed(peer, topic, (message) => {
      received.push(message.data);
      arrived += 1;
      if (arrived === count) all.resolve();
    });
    await page.evaluate(
      async ({ topic, count }) => {
        const client = await BusClient.Client.NewClient({ Id: "browser-burst" });
        // Its own publications come back to it: unread deliveries in its socket when it closes.
        client.Subscribe(topic, () => {});
        for (let i = 0; i < count; i += 1) client.Publish(topic, i);
        await client.Close();
      },
      { topic, count },
    );
    await withTimeout(all.promise, 10 * UNIT, `all ${count} publications`).catch(() => {
      throw new Error(`only ${arrived} of ${count} publications made before Close arrived`);
    });
    assert.deepEqual(received, Array.from({ length: count }, (_, i) => i));
  });

  test("after a server restart on the same port the page reconnects with its subscription restored", async () => {
    await server.restart();
    await page.waitForFunction(() => window.state.connects === 2, null, { timeout: 10 * UNIT });
    const lost = await page.evaluate(() => window.state.disconnects);
    assert.deepEqual(lost, [{ code: 1000, reason: "server shutdown" }]);
    await peer.testEvents.next((event) => event.type === "connect" && peer.IsConnected, 10 * UNIT);
    const before = await page.evaluate(() => window.state.received.length);
    peer.Publish("to-browser", "after restart");
    await page.waitForFunction((count) => window.state.received.length === count + 1, before, { timeout: 5 * UNIT });
    assert.equal(await page.evaluate(() => window.state.received.at(-1).data), "after restart");
    // While the server was down, each failed attempt was reported; nothing else went wrong.
    const errors = await page.evaluate(() => window.state.errors);
    assert.deepEqual(errors.filter((error) => !error.startsWith("ConnectionFailed: ")), []);
  });
});
