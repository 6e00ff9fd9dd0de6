// The original KSPS JavaScript client (ksmux v0.9.5 `ksps/client.js`, from the Go module cache) works
// unchanged against our server with no auth configured (spec/protocol.md preamble and §9: every difference
// keeps existing clients working), alone and together with our own client.
import assert from "node:assert/strict";
import { once } from "node:events";
import { after, before, describe, test } from "node:test";
import { connect, isProbe, record, subscribed, synced, uniqueId } from "../helpers/clients.mjs";
import { connectOriginal, loadOriginalClient, subscribeOriginal } from "../helpers/original.mjs";
import { TestServer } from "../helpers/server.mjs";
import { Inbox, UNIT, withTimeout } from "../helpers/wait.mjs";

describe("the original client.js", () => {
  let Client;
  let server;
  const clients = [];
  const original = async (options) => {
    const client = await connectOriginal(Client, server, { Id: uniqueId("orig"), ...options });
    clients.push(client);
    return client;
  };
  const ours = async () => {
    const client = await connect(server);
    clients.push(client);
    return client;
  };

  before(async () => {
    ({ Client } = loadOriginalClient());
    server = await TestServer.start();
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.Close()));
    await server?.stop();
  });

  test("NewClient registers; Subscribe and Publish between two original clients", async () => {
    const a = await original();
    const b = await original();
    const atA = new Inbox("a");
    const atB = new Inbox("b");
    await subscribeOriginal(a, "news", (message) => atA.push(message));
    await subscribeOriginal(b, "news", (message) => atB.push(message));
    a.Publish("news", { x: 1, nested: [true, null, "é"] });
    const expected = { data: { x: 1, nested: [true, null, "é"] }, from: a.Id };
    assert.deepEqual(await atB.next(), expected);
    assert.deepEqual(await atA.next(), expected);
  });

  test("Publish both ways between the original client and ours", async () => {
    const orig = await original();
    const mine = await ours();
    const atOrig = new Inbox("original");
    // Our `synced` probes the subscription with a publication: the original receives it too.
    await subscribeOriginal(orig, "mixed", (message) => isProbe(message) || atOrig.push(message));
    const atMine = record(mine, "mixed");
    await synced(mine, "mixed", atMine);
    orig.Publish("mixed", "from the original");
    assert.deepEqual(await atMine.next(), { data: "from the original", from: orig.Id });
    assert.deepEqual(await atOrig.next(), { data: "from the original", from: orig.Id });
    mine.Publish("mixed", [1, "from ours"]);
    assert.deepEqual(await atOrig.next(), { data: [1, "from ours"], from: mine.Id });
  });

  test("PublishToID reaches OnId, between original clients and to and from ours", async () => {
    const a = await original();
    const b = await original();
    const mine = await ours();
    a.PublishToID(b.Id, { hi: "b" });
    assert.deepEqual(await b.direct.next(), { data: { hi: "b" }, from: a.Id });
    mine.PublishToID(a.Id, "from ours");
    assert.deepEqual(await a.direct.next(), { data: "from ours", from: mine.Id });
    a.PublishToID(mine.Id, "from the original");
    assert.deepEqual(await mine.direct.next(), { data: "from the original", from: a.Id });
  });

  test("PublishWithAck: Wait returns each responder's answer, original and ours", async () => {
    const publisher = await original();
    const ok = await original();
    const failing = await original();
    const mine = await ours();
    const seen = new Inbox("seen by the responders");
    // Ours first: its subscription probe is a plain publication, and the original runs plain deliveries'
    // callbacks in a setTimeout without a try (only publish_ack deliveries catch): a throw would be uncaught.
    await subscribed(mine, "jobs", (message) => seen.push({ at: "mine", message }));
    await subscribeOriginal(ok, "jobs", (message) => seen.push({ at: "ok", message }));
    await subscribeOriginal(failing, "jobs", () => {
      throw new Error("job refused");
    });
    // The original's ClientAck only resolves a Wait() already running when the ack_response arrives (a
    // response that came earlier is dropped and Wait() times out with {}): call Wait() at once. Its request
    // carries no `timeout` member, so the server waits its default 5 s (spec §6.2) for missing answers.
    const ack = publisher.PublishWithAck("jobs", { n: 1 }, 5 * UNIT);
    const responses = await withTimeout(ack.Wait(), 6 * UNIT, "the original's Wait");
    assert.deepEqual(Object.keys(responses).sort(), [ok.Id, failing.Id, mine.Id].sort());
    for (const id of [ok.Id, mine.Id]) {
      assert.equal(responses[id].client_id, id);
      assert.equal(responses[id].success, true);
      assert.equal("error" in responses[id], false);
    }
    assert.equal(responses[failing.Id].success, false);
    assert.equal(responses[failing.Id].error, "job refused");
    for (const at of ["ok", "mine"]) {
      assert.deepEqual((await seen.next((s) => s.at === at)).message, { data: { n: 1 }, from: publisher.Id });
    }

    // Our client asks, original clients answer: on a topic, and directly through OnId (spec §6.4).
    const onTopic = await mine.PublishWithAck("jobs", "n2", 5 * UNIT).Wait();
    assert.equal(onTopic[ok.Id].success, true);
    assert.equal(onTopic[failing.Id].error, "job refused");
    const direct = await mine.PublishToIDWithAck(ok.Id, "just you", 5 * UNIT).Wait();
    assert.deepEqual(Object.keys(direct), [ok.Id]);
    assert.equal(direct[ok.Id].success, true);
    assert.deepEqual(await ok.direct.next(), { data: "just you", from: mine.Id });
  });

  test("Unsubscribe and the callback's unsub stop deliveries; Close ends the connection cleanly", async () => {
    const orig = await original();
    const mine = await ours();
    const kept = new Inbox("kept");
    const selfEnding = new Inbox("once");
    await subscribeOriginal(orig, "gone", () => {});
    await subscribeOriginal(orig, "kept", (message) => kept.push(message));
    await subscribeOriginal(orig, "once", (message, unsub) => {
      selfEnding.push(message);
      unsub();
    });
    orig.Unsubscribe("gone");
    await orig.frames.next((frame) => frame.action === "unsubscribed" && frame.topic === "gone");
    mine.Publish("once", "first");
    assert.equal((await selfEnding.next()).data, "first");
    await orig.frames.next((frame) => frame.action === "unsubscribed" && frame.topic === "once");
    // The original drops deliveries for topics it left on its own side too, so look at the frames: the
    // server keeps one publisher's order (spec §4.3), so once "kept" arrived the others would have as well.
    mine.Publish("gone", "after Unsubscribe");
    mine.Publish("once", "second");
    mine.Publish("kept", "marker");
    assert.equal((await kept.next()).data, "marker");
    const late = (frame) => frame.action === "publish" && ["after Unsubscribe", "second"].includes(frame.data?.data);
    assert.deepEqual(orig.frames.pending(late), []);
    assert.deepEqual(selfEnding.pending(), []);

    const socket = orig.Conn;
    const closed = once(socket, "close");
    await orig.Close();
    const [code] = await withTimeout(closed, 3 * UNIT, "the server did not complete the close handshake");
    assert.equal(code, 1000);
    assert.equal(orig.Conn, null);
  });
});
