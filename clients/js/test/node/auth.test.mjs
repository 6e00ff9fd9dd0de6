// Credentials and refusals (spec/protocol.md §10, §11) against a real server with a JWT secret: Token and
// GetToken, AuthError on 4003/4004/401, in-place refresh, and error frames matched to their request.
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { AuthError, Client, ServerErrorReply } from "ksps";
import { connect, uniqueId } from "../helpers/clients.mjs";
import { TestServer } from "../helpers/server.mjs";
import { mint, SECRET } from "../helpers/tokens.mjs";
import { Inbox, UNIT, withTimeout } from "../helpers/wait.mjs";

const OTHER_SECRET = "another-secret-0123456789abcdef-0123";
const FAST_RETRY = { Autorestart: true, ReconnectInitialDelay: 20, ReconnectMaxDelay: 200 };

/** A GetToken callback handing out `tokens` in order, then the last one again; counts its calls. */
function tokenList(...tokens) {
  const getToken = async () => tokens[Math.min(getToken.calls++, tokens.length - 1)];
  getToken.calls = 0;
  return getToken;
}

describe("auth", () => {
  let server;
  const clients = [];
  const open = async (options) => {
    const client = await connect(server, { Id: undefined, ...options });
    clients.push(client);
    return client;
  };

  before(async () => {
    server = await TestServer.start({ args: ["--jwt-secret", SECRET, "--jwt-leeway", "0"] });
  });
  after(async () => {
    await Promise.all(clients.map((client) => client.Close()));
    await server.stop();
  });

  test("a Token registers its sub as the client ID", async () => {
    const id = uniqueId("alice");
    const client = await open({ Token: mint(id) });
    assert.equal(client.Id, id);
    const sender = await open({ Token: mint(uniqueId("bob")) });
    sender.PublishToID(id, "hi");
    assert.equal((await client.direct.next()).data, "hi");
  });

  test("GetToken alone registers the sub of its first token as the client ID", async () => {
    const id = uniqueId("carol");
    const client = await open({ GetToken: tokenList(mint(id)) });
    assert.equal(client.Id, id);
    assert.equal(client.IsConnected, true);
  });

  test("a refused token rejects NewClient with AuthError 4003", async () => {
    await assert.rejects(
      Client.NewClient({ Address: server.address, Token: mint(uniqueId(), { secret: OTHER_SECRET }) }),
      (error) => error instanceof AuthError && error.code === 4003,
    );
  });

  test("an HTTP 401 at the upgrade is an AuthError", async () => {
    await assert.rejects(
      Client.NewClient({ Address: server.address, Path: "/ws/bus?token=garbage" }),
      (error) => error instanceof AuthError && error.code === 401,
    );
  });

  test("an expired token without GetToken closes the client for good", async () => {
    const client = await open({ Token: mint(uniqueId(), { ttlMs: 2 * UNIT }), ...FAST_RETRY });
    const disconnect = await client.testEvents.next((event) => event.type === "disconnect");
    assert.equal(disconnect.code, 4004);
    const { error } = await client.testEvents.next((event) => event.type === "error");
    assert.ok(error instanceof AuthError && error.code === 4004, String(error));
    await client.testEvents.next((event) => event.type === "close");
  });

  test("GetToken is asked again after a refusal, and the client connects", async () => {
    const id = uniqueId();
    const getToken = tokenList(mint(id, { secret: OTHER_SECRET }), mint(id));
    const client = await open({ Id: id, GetToken: getToken, ...FAST_RETRY });
    const { error } = await client.testEvents.next((event) => event.type === "error");
    assert.ok(error instanceof AuthError && error.code === 4003, String(error));
    await client.testEvents.next((event) => event.type === "connect");
    assert.equal(getToken.calls, 2);
  });

  test("the token is refreshed in place before it expires", async () => {
    const id = uniqueId();
    const getToken = tokenList(mint(id, { ttlMs: 2 * UNIT }), mint(id));
    const client = await open({ Id: id, GetToken: getToken, ...FAST_RETRY });
    const inbox = new Inbox("news");
    await client.Subscribe("news", (message) => inbox.push(message.data));
    // Past the first token's exp, the connection is still the same one.
    await assert.rejects(client.testEvents.next((event) => event.type === "disconnect", 2.5 * UNIT), /timed out/);
    assert.equal(getToken.calls, 2);
    client.Publish("news", "still here");
    assert.equal(await inbox.next(), "still here");
  });

  test("an expired token with GetToken reconnects at once and keeps the subscriptions", async () => {
    const id = uniqueId();
    const short = mint(id, { ttlMs: 2 * UNIT });
    const getToken = tokenList(short, short, mint(id));
    const client = await open({ Id: id, GetToken: getToken, ...FAST_RETRY });
    const inbox = new Inbox("news");
    await client.Subscribe("news", (message) => inbox.push(message.data));
    await client.testEvents.next((event) => event.type === "connect");
    assert.equal((await client.testEvents.next((event) => event.type === "disconnect")).code, 4004);
    await client.testEvents.next((event) => event.type === "connect");
    assert.equal(getToken.calls, 3);
    client.Publish("news", "after refresh");
    assert.equal(await inbox.next(), "after refresh");
  });

  test("a refused Subscribe rejects with its code and is not kept; unawaited, it goes to OnError", async () => {
    const client = await open({ Token: mint(uniqueId(), { subscribe: ["public.*"] }) });
    const inbox = new Inbox("messages");
    await assert.rejects(
      async () => await client.Subscribe("private", (message) => inbox.push(message.data)),
      (error) => error instanceof ServerErrorReply && error.code === "forbidden" && error.topic === "private",
    );
    const unsub = client.Subscribe("private.too", () => {});
    assert.equal(typeof unsub, "function"); // existing callers keep the unsubscribe function
    const { error } = await client.testEvents.next((event) => event.type === "error");
    assert.equal(error.code, "forbidden");
    assert.equal(error.topic, "private.too");
    await client.Subscribe("public.1", (message) => inbox.push(message.data));
    client.Publish("public.1", "marker");
    assert.equal(await inbox.next(), "marker");
    assert.deepEqual(inbox.pending(), []);
  });

  test("a refused Publish reaches OnError with its topic; a refused PublishWithAck rejects Wait", async () => {
    const client = await open({ Token: mint(uniqueId(), { publish: ["chat.*"] }) });
    client.Publish("news", "not allowed");
    const { error } = await client.testEvents.next((event) => event.type === "error");
    assert.ok(error instanceof ServerErrorReply, String(error));
    assert.equal(error.code, "forbidden");
    assert.equal(error.topic, "news");
    const ack = client.PublishWithAck("news", "nor this", 2 * UNIT);
    await assert.rejects(
      withTimeout(ack.Wait(), 5 * UNIT, "Wait"),
      (refusal) => refusal instanceof ServerErrorReply && refusal.code === "forbidden" && refusal.ackId === ack.id,
    );
    assert.deepEqual(client.testEvents.pending((event) => event.type === "error"), []);
  });
});
