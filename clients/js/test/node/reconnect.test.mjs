// Connection life: first connection failures, reconnection after a server restart, the offline queue,
// takeover of an ID (close code 4001), keepalive. Each test has its own server, which it restarts.
import assert from "node:assert/strict";
import { afterEach, describe, test } from "node:test";
import { Client, ClientClosed, ConnectionFailed, ConnectionReplaced, OfflineQueueFull, NotConnected, ServerErrorReply } from "ksps";
import { connect, record, subscribed, synced, uniqueId } from "../helpers/clients.mjs";
import { TestServer } from "../helpers/server.mjs";
import { mint, SECRET } from "../helpers/tokens.mjs";
import { Inbox, UNIT, deferred, withTimeout } from "../helpers/wait.mjs";

const FAST_RECONNECT = { ReconnectInitialDelay: 0.05 * UNIT, ReconnectMaxDelay: 0.2 * UNIT };

describe("connection life", () => {
  const cleanups = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) {
      await cleanup();
    }
  });
  const startServer = async (args = []) => {
    const server = await TestServer.start({ args });
    cleanups.push(() => server.stop());
    return server;
  };
  const open = async (server, options) => {
    const client = await connect(server, { ...FAST_RECONNECT, ...options });
    cleanups.push(() => client.Close());
    if (client.IsConnected) {
      // Take the first connection's event, so that waiting for "connect" means a reconnection.
      await client.testEvents.next((event) => event.type === "connect");
    }
    return client;
  };
  /** Stops the server and waits until `client` saw the loss. */
  const goOffline = async (server, client) => {
    await server.stop();
    return client.testEvents.next((event) => event.type === "disconnect");
  };

  test("after a server restart: reconnects, restores subscriptions (offline ones too), sends the queue", async () => {
    const server = await startServer();
    const a = await open(server);
    const before = record(a, "before");
    await synced(a, "before", before);

    const lost = await goOffline(server, a);
    assert.deepEqual(lost, { type: "disconnect", code: 1000, reason: "server shutdown" });
    assert.equal(a.IsConnected, false);
    const offline = record(a, "offline");
    a.Publish("before", "queued while offline");

    await server.launch(server.port);
    await a.testEvents.next((event) => event.type === "connect");
    assert.equal(a.IsConnected, true);
    assert.equal((await before.next()).data, "queued while offline");

    const b = await open(server);
    b.Publish("offline", "to the offline subscription");
    b.Publish("before", "to the restored subscription");
    assert.deepEqual(await offline.next(), { data: "to the offline subscription", from: b.Id });
    assert.deepEqual(await before.next(), { data: "to the restored subscription", from: b.Id });
  });

  test("failed reconnection attempts are reported as ConnectionFailed, and the attempts go on", async () => {
    const server = await startServer();
    const a = await open(server);
    await goOffline(server, a);
    const failed = (event) => event.type === "error" && event.error instanceof ConnectionFailed;
    const first = await a.testEvents.next(failed);
    assert.match(first.error.message, new RegExp(`could not connect to ws://${server.address}/ws/bus`));
    await a.testEvents.next(failed);
    await server.launch(server.port);
    await a.testEvents.next((event) => event.type === "connect");
  });

  test("a Subscribe made offline resolves at once, and a refusal when it is restored goes to OnError", async () => {
    const server = await startServer(["--jwt-secret", SECRET, "--jwt-leeway", "0"]);
    const id = uniqueId();
    const a = await open(server, { Id: id, Token: mint(id, { subscribe: ["ok.*"] }) });
    await goOffline(server, a);
    const kept = new Inbox("ok.kept");
    await withTimeout(Promise.resolve(a.Subscribe("ok.kept", (message) => kept.push(message))), UNIT, "offline Subscribe");
    await withTimeout(Promise.resolve(a.Subscribe("secret", () => {})), UNIT, "offline Subscribe");
    await server.launch(server.port);
    const { error } = await a.testEvents.next((event) => event.type === "error" && event.error instanceof ServerErrorReply);
    assert.equal(error.code, "forbidden");
    assert.equal(error.topic, "secret");
    await a.testEvents.next((event) => event.type === "connect");
  });

  test("a pending ack ends at once when its connection is lost", async () => {
    const server = await startServer();
    const [a, b] = [await open(server), await open(server)];
    const release = deferred();
    cleanups.push(() => release.resolve());
    await subscribed(b, "held", () => release.promise);
    const ack = a.PublishWithAck("held", 1, 30 * UNIT);
    assert.deepEqual(await ack.FetchStatus(), { [b.Id]: false });
    await server.stop();
    assert.deepEqual(await withTimeout(ack.Wait(), 2 * UNIT, "Wait after the connection was lost"), {});
  });

  test("FetchStatus rejects with NotConnected while offline; GetStatus still answers the last known state", async () => {
    const server = await startServer();
    const a = await open(server, { ConnectTimeout: 2 * UNIT });
    await goOffline(server, a);
    const ack = a.PublishWithAck("queued", 1, 30 * UNIT);
    await assert.rejects(withTimeout(ack.FetchStatus(), UNIT, "FetchStatus offline"), NotConnected);
    assert.deepEqual(ack.GetStatus(), {});
    assert.equal(ack.IsComplete(), false);
    ack.Cancel();
    assert.deepEqual(await withTimeout(ack.Wait(), UNIT, "Wait after Cancel"), {});
  });

  test("a topic unsubscribed while offline is not restored", async () => {
    const server = await startServer();
    const a = await open(server);
    const dropped = record(a, "dropped");
    const kept = record(a, "kept");
    await synced(a, "kept", kept);
    await goOffline(server, a);
    a.Unsubscribe("dropped");
    await server.launch(server.port);
    await a.testEvents.next((event) => event.type === "connect");
    const b = await open(server);
    b.Publish("dropped", "not for a");
    b.Publish("kept", "marker");
    assert.equal((await kept.next()).data, "marker");
    assert.deepEqual(dropped.pending(), []);
  });

  for (const [policy, expected] of [
    ["drop_oldest", [2, 3]],
    ["drop_newest", [1, 2]],
  ]) {
    test(`offline queue overflow (${policy}) is reported and bounded`, async () => {
      const server = await startServer();
      const a = await open(server, { OfflineQueueSize: 2, OfflineQueuePolicy: policy });
      const inbox = record(a, "queued");
      await synced(a, "queued", inbox);
      await goOffline(server, a);
      const overflowed = (event) => event.type === "error" && event.error instanceof OfflineQueueFull;
      a.Publish("queued", 1);
      a.Publish("queued", 2);
      assert.deepEqual(a.testEvents.pending(overflowed), []);
      a.Publish("queued", 3);
      const overflow = await a.testEvents.next(overflowed);
      assert.match(overflow.error.message, /offline queue full \(2 publications\)/);
      await server.launch(server.port);
      assert.deepEqual([(await inbox.next()).data, (await inbox.next()).data], expected);
      a.Publish("queued", "marker");
      assert.equal((await inbox.next()).data, "marker");
    });
  }

  test("offline queue overflow (raise) throws, and an ack that does not fit ends at once", async () => {
    const server = await startServer();
    const a = await open(server, { OfflineQueueSize: 1, OfflineQueuePolicy: "raise" });
    await goOffline(server, a);
    a.Publish("t", 1);
    assert.throws(() => a.Publish("t", 2), OfflineQueueFull);
    assert.throws(() => a.PublishWithAck("t", 3, 10 * UNIT), OfflineQueueFull);
  });

  test("an ack queued offline is sent after reconnecting", async () => {
    const server = await startServer();
    const a = await open(server);
    await goOffline(server, a);
    const ack = a.PublishWithAck("later", "x", 10 * UNIT);
    await server.launch(server.port);
    const b = await open(server);
    const seen = new Inbox();
    // `a` may reconnect before `b` subscribes; then nobody is subscribed and the answer is {}.
    await subscribed(b, "later", (message) => seen.push(message));
    const responses = await ack.Wait();
    assert.ok(Object.keys(responses).length <= 1);
    const again = await a.PublishWithAck("later", "y", 5 * UNIT).Wait();
    assert.equal(again[b.Id].success, true);
  });

  test("NewClient rejects with ConnectionFailed when the port is refused", async () => {
    const server = await startServer();
    await server.stop();
    const started = performance.now();
    await assert.rejects(
      Client.NewClient({ Address: server.address, Id: uniqueId() }),
      (error) => error instanceof ConnectionFailed && error.message.includes(`ws://${server.address}/ws/bus`),
    );
    assert.ok(performance.now() - started < 2 * UNIT);
  });

  test("NewClient rejects with ConnectionFailed when the path is wrong", async () => {
    const server = await startServer();
    await assert.rejects(
      Client.NewClient({ Address: server.address, Path: "/nowhere", Id: uniqueId() }),
      ConnectionFailed,
    );
  });

  test("Autorestart: NewClient resolves without a server and connects when it comes up", async () => {
    const server = await startServer();
    await server.stop();
    const a = await open(server, { Autorestart: true });
    assert.equal(a.IsConnected, false);
    const failure = await a.testEvents.next((event) => event.type === "error");
    assert.ok(failure.error instanceof ConnectionFailed);
    const inbox = record(a, "early");
    a.Publish("early", "queued before the first connection");
    await server.launch(server.port);
    await a.testEvents.next((event) => event.type === "connect");
    assert.equal((await inbox.next()).data, "queued before the first connection");
  });

  test("the original option spelling Autorestart works too", async () => {
    const server = await startServer();
    await server.stop();
    const a = await open(server, { Autorestart: true });
    assert.equal(a.IsConnected, false);
  });

  test("close code 4001: the replaced client does not reconnect and is closed", async () => {
    const server = await startServer();
    const id = uniqueId("shared");
    const first = await open(server, { Id: id });
    const second = await open(server, { Id: id });
    const lost = await first.testEvents.next((event) => event.type === "disconnect");
    assert.equal(lost.code, 4001);
    const error = await first.testEvents.next((event) => event.type === "error");
    assert.ok(error.error instanceof ConnectionReplaced);
    await first.testEvents.next((event) => event.type === "close");
    assert.throws(() => first.Publish("t", 1), ClientClosed);
    const inbox = record(second, "mine");
    await synced(second, "mine", inbox);
    assert.equal(second.IsConnected, true);
  });

  test("Reconnect: false closes the client when the connection is lost", async () => {
    const server = await startServer();
    const a = await open(server, { Reconnect: false });
    await goOffline(server, a);
    await a.testEvents.next((event) => event.type === "close");
    assert.throws(() => a.Publish("t", 1), ClientClosed);
  });

  test("keepalive: a silent server is detected, and the client comes back when it answers again", async () => {
    const server = await startServer();
    const a = await open(server, {
      KeepaliveInterval: 0.2 * UNIT, KeepaliveTimeout: 0.3 * UNIT, ConnectTimeout: 0.5 * UNIT,
    });
    server.pause();
    cleanups.push(() => server.resume());
    const lost = await a.testEvents.next((event) => event.type === "disconnect", 3 * UNIT);
    assert.equal(lost.code, null);
    assert.match(lost.reason, /keepalive timeout/);
    server.resume();
    await a.testEvents.next((event) => event.type === "connect", 5 * UNIT);
    const inbox = record(a, "alive");
    await synced(a, "alive", inbox);
  });
});
