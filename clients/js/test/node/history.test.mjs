// Topic history and recovery (spec/protocol.md §14) against a real server started with --history-size:
// History(topic, {since, limit, reverse}), Message.offset, Position(topic), Subscribe with since,
// OnSubscribed, recovery after a lost connection (recovered) and after a server restart (a new epoch), the
// refusals (no_history, forbidden, NotConnected) and TypeError on bad arguments.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CallbackError, NotConnected, ServerErrorReply } from "ksps";
import { connect, uniqueId } from "../helpers/clients.mjs";
import { FrontDoor } from "../helpers/front-door.mjs";
import { TestServer } from "../helpers/server.mjs";
import { SECRET, mint } from "../helpers/tokens.mjs";
import { Inbox, UNIT } from "../helpers/wait.mjs";

const FAST_RECONNECT = { ReconnectInitialDelay: 0.05 * UNIT, ReconnectMaxDelay: 0.2 * UNIT };

/** One ordered log of a client's deliveries and OnSubscribed calls, to check what came before what. */
function logged(options = {}) {
  const log = new Inbox("log");
  return {
    log,
    options: { ...options, OnSubscribed: (topic, info) => log.push({ kind: "subscribed", topic, info }) },
    record: (topic) => (message) => log.push({ kind: "message", topic, message }),
  };
}

describe("history and recovery", () => {
  let server;
  const clients = [];
  const open = async (options, on = server) => {
    const client = await connect(on, options);
    clients.push(client);
    return client;
  };

  before(async () => {
    server = await TestServer.start({ args: ["--history-size", "100", "--jwt-secret", SECRET, "--anonymous", "allow"] });
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.Close()));
    await server.stop();
  });

  /** Publishes `values` to `topic` and waits until the server kept them (History answers their offset). */
  async function published(publisher, topic, values) {
    const before = (await publisher.History(topic, { limit: 0 })).offset;
    for (const value of values) publisher.Publish(topic, value);
    for (let page = await publisher.History(topic, { limit: 0 }); page.offset < before + values.length;) {
      page = await publisher.History(topic, { limit: 0 });
    }
  }

  test("History reads kept publications: oldest first, since, limit, reverse, limit 0", async () => {
    const topic = uniqueId("hist");
    const client = await open();
    const empty = await client.History(topic);
    assert.deepEqual(empty.publications, []);
    assert.equal(empty.offset, 0);
    assert.equal(typeof empty.epoch, "string");
    await published(client, topic, ["a", { b: 2 }, 3, null]);
    const all = await client.History(topic);
    assert.deepEqual(all, {
      publications: [
        { data: "a", from: client.Id, offset: 1 },
        { data: { b: 2 }, from: client.Id, offset: 2 },
        { data: 3, from: client.Id, offset: 3 },
        { data: null, from: client.Id, offset: 4 },
      ],
      offset: 4,
      epoch: empty.epoch,
    });
    const since = { offset: 2, epoch: all.epoch };
    assert.deepEqual((await client.History(topic, { since })).publications.map((p) => p.offset), [3, 4]);
    assert.deepEqual((await client.History(topic, { since, reverse: true })).publications.map((p) => p.offset), [1]);
    assert.deepEqual((await client.history(topic, { limit: 2, reverse: true })).publications.map((p) => p.offset), [4, 3]);
    assert.deepEqual(await client.History(topic, { limit: 0 }), { publications: [], offset: 4, epoch: all.epoch });
    // Another epoch: nothing, and the epoch tells why.
    const other = await client.History(topic, { since: { offset: 0, epoch: "not-this-one" } });
    assert.deepEqual(other.publications, []);
    assert.equal(other.epoch, all.epoch);
  });

  test("deliveries carry their offset, Position follows them, OnSubscribed gives the position", async () => {
    const topic = uniqueId("live");
    const { log, options, record } = logged();
    const client = await open(options);
    assert.equal(client.Position(topic), undefined);
    await client.Subscribe(topic, record(topic));
    const first = await log.next();
    assert.equal(first.kind, "subscribed");
    assert.equal(first.topic, topic);
    assert.equal(first.info.recovering, false);
    assert.equal(first.info.recovered, false);
    assert.equal(first.info.position.offset, 0);
    const epoch = first.info.position.epoch;
    assert.deepEqual(client.Position(topic), { offset: 0, epoch });
    client.Publish(topic, "one");
    client.Publish(topic, "two");
    assert.deepEqual((await log.next()).message, { data: "one", from: client.Id, offset: 1 });
    assert.deepEqual((await log.next()).message, { data: "two", from: client.Id, offset: 2 });
    assert.deepEqual(client.position(topic), { offset: 2, epoch });
    client.Unsubscribe(topic);
    assert.equal(client.Position(topic), undefined);
  });

  test("Subscribe with since recovers what came after it, before OnSubscribed and the Subscribe's answer", async () => {
    const topic = uniqueId("since");
    const publisher = await open();
    await published(publisher, topic, ["p1", "p2", "p3"]);
    const { epoch } = await publisher.History(topic, { limit: 0 });
    const { log, options, record } = logged();
    const client = await open(options);
    await client.Subscribe(topic, record(topic), { since: { offset: 1, epoch } });
    // Everything arrived by the time the Subscribe resolved: the log is complete and ordered.
    assert.deepEqual(log.pending(), [
      { kind: "message", topic, message: { data: "p2", from: publisher.Id, offset: 2 } },
      { kind: "message", topic, message: { data: "p3", from: publisher.Id, offset: 3 } },
      { kind: "subscribed", topic, info: { position: { offset: 3, epoch }, recovering: true, recovered: true } },
    ]);
    assert.deepEqual(client.Position(topic), { offset: 3, epoch });
  });

  test("a lost connection recovers the publications made meanwhile (recovered: true)", async () => {
    const topic = uniqueId("recover");
    const door = await FrontDoor.open({}, () => server.port);
    try {
      const { log, options, record } = logged(FAST_RECONNECT);
      const client = await open({ ...options, Address: door.address });
      const publisher = await open();
      await client.Subscribe(topic, record(topic));
      const { epoch } = (await log.next()).info.position;
      publisher.Publish(topic, "before");
      assert.equal((await log.next()).message.offset, 1);
      await client.testEvents.next((event) => event.type === "connect");
      door.hold();
      await client.testEvents.next((event) => event.type === "disconnect");
      await published(publisher, topic, ["away 1", "away 2"]);
      door.release();
      await client.testEvents.next((event) => event.type === "connect");
      assert.deepEqual(log.pending(), [
        { kind: "message", topic, message: { data: "away 1", from: publisher.Id, offset: 2 } },
        { kind: "message", topic, message: { data: "away 2", from: publisher.Id, offset: 3 } },
        { kind: "subscribed", topic, info: { position: { offset: 3, epoch }, recovering: true, recovered: true } },
      ]);
    } finally {
      await door.close();
    }
  });

  test("a server restart changes the epoch: recovered false, and the new stream is delivered from offset 1", async () => {
    const own = await TestServer.start({ args: ["--history-size", "10"] });
    try {
      const { log, options, record } = logged(FAST_RECONNECT);
      const client = await open(options, own);
      await client.Subscribe("room", record("room"));
      const { epoch } = (await log.next()).info.position;
      client.Publish("room", "old");
      client.Publish("room", "old 2");
      assert.equal((await log.next()).message.offset, 1);
      assert.equal((await log.next()).message.offset, 2);
      await client.testEvents.next((event) => event.type === "connect");
      await own.restart();
      await client.testEvents.next((event) => event.type === "connect");
      const restored = await log.next();
      assert.equal(restored.kind, "subscribed");
      assert.equal(restored.info.recovering, true);
      assert.equal(restored.info.recovered, false);
      assert.notEqual(restored.info.position.epoch, epoch);
      assert.equal(restored.info.position.offset, 0);
      // A lower offset than before (a new stream): delivered, and the position follows it.
      client.Publish("room", "new");
      assert.deepEqual((await log.next()).message, { data: "new", from: client.Id, offset: 1 });
      assert.deepEqual(client.Position("room"), { offset: 1, epoch: restored.info.position.epoch });
    } finally {
      await own.stop();
    }
  });

  test("History rejects with no_history, forbidden and NotConnected", async () => {
    const plain = await TestServer.start();
    try {
      const client = await open({}, plain);
      await assert.rejects(client.History("room"), (error) => {
        assert.ok(error instanceof ServerErrorReply);
        assert.equal(error.code, "no_history");
        assert.equal(error.topic, "room");
        return true;
      });
      // A server without history: no OnSubscribed, no position; the client goes on.
      const subscribed = [];
      const other = await open({ OnSubscribed: (topic, info) => subscribed.push([topic, info]) }, plain);
      await other.Subscribe("room", () => {});
      assert.equal(other.Position("room"), undefined);
      assert.deepEqual(subscribed, []);
    } finally {
      await plain.stop();
    }
    const alice = await open({ Id: undefined, Token: mint(uniqueId("alice"), { subscribe: ["news.*"] }) });
    await assert.rejects(alice.History("secret"), (error) => error instanceof ServerErrorReply && error.code === "forbidden");
    assert.equal((await alice.History("news.x")).offset, 0);
    const offline = await open({ Autorestart: true, Address: "127.0.0.1:1" });
    await assert.rejects(offline.History("room"), NotConnected);
  });

  test("bad argument types throw TypeError before sending, and the client goes on", async () => {
    const client = await open();
    for (const options of [
      { limit: -1 }, { limit: 1.5 }, { limit: "3" }, { reverse: 1 }, { since: { offset: 1 } }, { since: { offset: "1", epoch: "e" } },
      { since: "e:1" }, "limit", null,
    ]) {
      assert.throws(() => client.History("room", options), TypeError, JSON.stringify(options));
    }
    assert.throws(() => client.History(7), TypeError);
    assert.throws(() => client.Subscribe("room", () => {}, { since: { offset: -1, epoch: "e" } }), TypeError);
    assert.throws(() => client.Subscribe("room", () => {}, { joinLeave: "yes" }), TypeError);
    assert.throws(() => client.Position(""), TypeError);
    assert.equal(client.Position("room"), undefined); // the refused Subscribe was not made
    assert.equal((await client.History("room", { limit: 0 })).offset, 0);
  });

  test("what OnSubscribed throws goes to OnError as a CallbackError; the subscription works", async () => {
    const topic = uniqueId("hook");
    const client = await open({
      OnSubscribed: () => {
        throw new Error("hook failed");
      },
    });
    const messages = new Inbox("messages");
    await client.Subscribe(topic, (message) => messages.push(message));
    const { error } = await client.testEvents.next((event) => event.type === "error");
    assert.ok(error instanceof CallbackError);
    assert.equal(error.topic, topic);
    client.Publish(topic, "still here");
    assert.deepEqual(await messages.next(), { data: "still here", from: client.Id, offset: 1 });
  });
});
