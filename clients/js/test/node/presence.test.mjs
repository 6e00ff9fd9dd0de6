// Presence (spec/protocol.md §15) against a real server: Presence(topic), { joinLeave: true }, OnJoin/OnLeave,
// a refusal without the subscribe permission, NotConnected while offline.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { NotConnected, ServerErrorReply } from "ksps";
import { connect, uniqueId } from "../helpers/clients.mjs";
import { TestServer } from "../helpers/server.mjs";
import { SECRET, mint } from "../helpers/tokens.mjs";
import { Inbox } from "../helpers/wait.mjs";

describe("presence", () => {
  let server;
  const clients = [];
  const open = async (options) => {
    const client = await connect(server, options);
    clients.push(client);
    return client;
  };

  before(async () => {
    server = await TestServer.start({ args: ["--jwt-secret", SECRET, "--anonymous", "allow"] });
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.Close()));
    await server.stop();
  });

  test("Presence counts the members and lists their IDs sorted", async () => {
    const topic = uniqueId("room");
    const asker = await open();
    assert.deepEqual(await asker.Presence(topic), { count: 0, ids: [], truncated: false });
    const zed = await open({ Id: uniqueId("zed") });
    const amy = await open({ Id: uniqueId("amy") });
    await zed.Subscribe(topic, () => {});
    await amy.Subscribe(topic, () => {});
    assert.deepEqual(await asker.presence(topic), { count: 2, ids: [amy.Id, zed.Id].sort(), truncated: false });
  });

  test("OnJoin and OnLeave hear the members of a joinLeave topic, in order", async () => {
    const topic = uniqueId("room");
    const events = new Inbox("members");
    const watcher = await open({
      OnJoin: (t, id) => events.push(["join", t, id]),
      OnLeave: (t, id) => events.push(["leave", t, id]),
    });
    await watcher.Subscribe(topic, () => {}, { joinLeave: true });
    await watcher.Subscribe(uniqueId("quiet"), () => {});
    const amy = await connect(server);
    await amy.Subscribe(topic, () => {});
    amy.Unsubscribe(topic);
    await amy.Subscribe(topic, () => {});
    await amy.Close();
    const expected = [["join", topic, amy.Id], ["leave", topic, amy.Id], ["join", topic, amy.Id], ["leave", topic, amy.Id]];
    const got = [];
    for (let i = 0; i < expected.length; i += 1) {
      got.push(await events.next());
    }
    assert.deepEqual(got, expected);
  });

  test("Presence rejects with ServerErrorReply forbidden without the subscribe permission", async () => {
    const alice = await open({ Id: undefined, Token: mint("alice-presence", { subscribe: ["news.*"] }) });
    await assert.rejects(alice.Presence("secret"), (error) => {
      assert.ok(error instanceof ServerErrorReply);
      assert.equal(error.code, "forbidden");
      assert.equal(error.topic, "secret");
      return true;
    });
    assert.equal((await alice.Presence("news.x")).count, 0);
  });

  test("a joinLeave subscription keeps its events after a server restart", async () => {
    const own = await TestServer.start();
    const events = new Inbox("joins");
    const watcher = await connect(own, {
      ReconnectInitialDelay: 20,
      ReconnectMaxDelay: 200,
      OnJoin: (topic, id) => events.push([topic, id]),
    });
    const other = await connect(own, { ReconnectInitialDelay: 20, ReconnectMaxDelay: 200 });
    try {
      await watcher.Subscribe("room", () => {}, { joinLeave: true });
      await own.restart();
      await watcher.testEvents.next((event) => event.type === "connect");
      await watcher.testEvents.next((event) => event.type === "connect");
      await other.testEvents.next((event) => event.type === "connect");
      await other.testEvents.next((event) => event.type === "connect");
      await other.Subscribe("room", () => {});
      assert.deepEqual(await events.next(), ["room", other.Id]);
    } finally {
      await Promise.all([watcher.Close(), other.Close()]);
      await own.stop();
    }
  });

  test("Presence rejects with NotConnected while disconnected", async () => {
    const client = await open({ Autorestart: true, Address: "127.0.0.1:1" });
    await assert.rejects(client.Presence("room"), NotConnected);
  });
});
