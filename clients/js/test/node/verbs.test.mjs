// Every verb against a real server: subscribe, unsubscribe, publish, direct messages, server relay.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { Client, ClientClosed, ServerErrorReply } from "ksps";
import { connect, isProbe, record, subscribed, synced, uniqueId } from "../helpers/clients.mjs";
import { TestServer } from "../helpers/server.mjs";
import { deferred, Inbox, UNIT, withTimeout } from "../helpers/wait.mjs";

describe("verbs", () => {
  let server;
  const clients = [];
  const open = async (options) => {
    const client = await connect(server, options);
    clients.push(client);
    return client;
  };

  before(async () => {
    server = await TestServer.start();
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.Close()));
    await server.stop();
  });

  test("NewClient registers the given ID and reports connect", async () => {
    const id = uniqueId("named");
    const client = await open({ Id: id });
    assert.equal(client.Id, id);
    assert.equal(client.id, id);
    assert.equal(client.IsConnected, true);
    await client.testEvents.next((event) => event.type === "connect");
  });

  test("a default ID has the original format", async () => {
    const client = await open({ Id: undefined });
    assert.match(client.Id, /^client_\d+_[0-9a-z]{9}$/);
  });

  test("Publish reaches every subscriber, the publisher included, with data and sender", async () => {
    const a = await open();
    const b = await open();
    const atA = record(a, "news");
    const atB = record(b, "news");
    await synced(a, "news", atA);
    await synced(b, "news", atB);
    a.Publish("news", { x: 1, nested: [true, null, "é"] });
    assert.deepEqual(await atB.next(), { data: { x: 1, nested: [true, null, "é"] }, from: a.Id });
    assert.deepEqual(await atA.next(), { data: { x: 1, nested: [true, null, "é"] }, from: a.Id });
  });

  test("Unsubscribe stops deliveries; unsub() from the callback too", async () => {
    const a = await open();
    const b = await open();
    const gone = record(b, "gone");
    const kept = record(b, "kept");
    await synced(b, "gone", gone);
    await synced(b, "kept", kept);
    b.Unsubscribe("gone");
    const selfEnding = new Inbox("self-ending");
    selfEnding.probes = new Inbox("probes");
    b.Subscribe("once", (message, unsub) => {
      if (isProbe(message)) {
        selfEnding.probes.push(message);
        return;
      }
      selfEnding.push(message);
      unsub();
    });
    await synced(b, "once", selfEnding);
    b.Publish("once", "first");
    assert.equal((await selfEnding.next()).data, "first");
    // The server handles one publisher's frames in order, and keeps that order per connection (spec §4.3):
    // once "kept" arrived, the earlier publications to "gone" and "once" would have arrived too.
    a.Publish("gone", "after unsubscribe");
    a.Publish("once", "second");
    a.Publish("kept", "marker");
    assert.equal((await kept.next()).data, "marker");
    assert.deepEqual(gone.pending(), []);
    assert.deepEqual(selfEnding.pending(), []);
  });

  test("subscribing again replaces the callback", async () => {
    const a = await open();
    const first = new Inbox("first");
    const second = new Inbox("second");
    a.Subscribe("replace", (message) => first.push(message));
    a.subscribe("replace", (message) => second.push(message));
    await synced(a, "replace", second);
    a.publish("replace", 7);
    assert.equal((await second.next()).data, 7);
    assert.deepEqual(first.pending(), []);
  });

  test("an async callback gets its deliveries in order", async () => {
    const a = await open();
    const seen = new Inbox("ordered");
    a.Subscribe("ordered", async (message) => {
      await new Promise((resolve) => setImmediate(resolve));
      seen.push(message.data);
    });
    for (let n = 0; n < 20; n += 1) {
      a.Publish("ordered", n);
    }
    const received = [];
    for (let n = 0; n < 20; n += 1) {
      received.push(await seen.next());
    }
    assert.deepEqual(received, [...Array(20).keys()]);
  });

  test("PublishToID reaches the target's OnId, and the sender itself", async () => {
    const a = await open();
    const b = await open();
    a.PublishToID(b.Id, { hello: "b" });
    assert.deepEqual(await b.direct.next(), { data: { hello: "b" }, from: a.Id });
    a.publishToId(a.Id, "to myself");
    assert.deepEqual(await a.direct.next(), { data: "to myself", from: a.Id });
  });

  test("PublishToServer relays to another server's subscribers", async () => {
    // Relays are signed with a shared secret and go only to configured peers (spec/protocol.md §12).
    const secret = ["--peer-secret", "js-test-peer-secret"];
    const other = await TestServer.start({ args: secret });
    const relaying = await TestServer.start({ args: [...secret, "--peers", other.address] });
    try {
      const a = await connect(relaying);
      clients.push(a);
      const b = await connect(other);
      clients.push(b);
      const relayed = record(b, "relayed");
      await synced(b, "relayed", relayed);
      a.PublishToServer(`${other.address}/ws/bus`, { topic: "relayed", data: { v: 1 } });
      const message = await relayed.next();
      assert.deepEqual(message.data, { v: 1 });
      assert.equal(message.from, `${a.Id}---ws://${relaying.address}/ws/bus`);
    } finally {
      await relaying.stop();
      await other.stop();
    }
  });

  test("a server error frame is reported to OnError and the connection stays", async () => {
    const a = await open();
    a.PublishToServer("127.0.0.1:1/ws/bus", { topic: "t", data: 1 });
    const event = await a.testEvents.next((e) => e.type === "error");
    assert.equal(event.error.name, "ServerErrorReply");
    assert.match(event.error.message, /failed to relay to server/);
    const inbox = record(a, "still-open");
    await synced(a, "still-open", inbox);
  });

  test("a Subscribe the server refuses rejects with ServerErrorReply, matched by its rid (a 300-byte topic)", async () => {
    // Issue 14: the refusal carried no rid, so the JS Subscribe never settled (Python: waited out ConnectTimeout).
    const a = await open();
    await assert.rejects(
      withTimeout(Promise.resolve(a.Subscribe("y".repeat(300), () => {})), 5 * UNIT, "Subscribe of a too long topic"),
      (error) => error instanceof ServerErrorReply && /topic too long/.test(error.message),
    );
    assert.deepEqual(a.testEvents.pending((event) => event.type === "error"), []);
    const inbox = record(a, "after-refusal");
    await synced(a, "after-refusal", inbox);
  });

  test("bad arguments throw at once", async () => {
    const a = await open();
    assert.throws(() => a.Subscribe("", () => {}), TypeError);
    assert.throws(() => a.Subscribe("t", "not a function"), TypeError);
    assert.throws(() => a.Publish("", 1), TypeError);
    assert.throws(() => a.PublishToID("", 1), TypeError);
    assert.throws(() => a.PublishWithAck("t", 1, -5), RangeError);
    assert.throws(() => a.Publish("t", 10n), TypeError);
  });

  test("Close ends the client: close event once, no disconnect event, verbs throw ClientClosed, Close again is harmless", async () => {
    // Issue 14: the client's own Close() called OnDisconnect (Python with (None, None)); it knows it closed.
    const a = await connect(server);
    await a.Close();
    assert.equal(a.IsConnected, false);
    await a.testEvents.next((e) => e.type === "close");
    await a.close();
    assert.deepEqual(a.testEvents.pending((e) => e.type === "close" || e.type === "disconnect"), []);
    assert.throws(() => a.Publish("t", 1), ClientClosed);
    assert.throws(() => a.Subscribe("t", () => {}), ClientClosed);
  });

  test("publications made just before Close all arrive, in order", async () => {
    // The Python client lost them: it dropped the socket with the server's receipts unread, the kernel
    // reset the connection and the server lost what it had not read yet. Close must send its close frame
    // after the queued publications and wait for the server's before it lets the socket go.
    const topic = `burst-${uniqueId()}`;
    const count = 2000;
    const subscriber = await open();
    const received = new Inbox(`messages of ${topic}`);
    let arrived = 0;
    const all = deferred();
    await subscribed(subscriber, topic, (message) => {
      received.push(message.data);
      arrived += 1;
      if (arrived === count) all.resolve();
    });
    const publisher = await connect(server);
    // The publisher receives its own publications too: the server's deliveries to it are what is still
    // unread in its socket when it closes.
    await subscribed(publisher, topic, () => {});
    for (let i = 0; i < count; i += 1) {
      publisher.Publish(topic, i);
    }
    await publisher.Close();
    await withTimeout(all.promise, 10 * UNIT, `all ${count} publications`).catch(() => {
      throw new Error(`only ${arrived} of ${count} publications made before Close arrived`);
    });
    assert.deepEqual(received.pending(), Array.from({ length: count }, (_, i) => i));
  });

  test("NewClient needs an address in Node, and a valid URL", async () => {
    await assert.rejects(Client.NewClient({}), /the Address option is required/);
    await assert.rejects(Client.NewClient({ Address: "bad host:1", Autorestart: true }), /invalid server URL/);
    await assert.rejects(Client.NewClient({ Address: server.address, OfflineQueuePolicy: "keep" }), RangeError);
  });
});
