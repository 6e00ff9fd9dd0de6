// History and recovery in the sans-I/O core (spec §14), step by step, as the contract of the three clients
// fixes them: remembered positions, `since` on a subscribe that carries it and on every restore, the
// `subscription` and `history` events, the `history` intent (NotConnected offline and on a lost connection),
// delivery offsets. The spec/traces vectors history-read, recovery-restore and recovery-epoch-changed pin the
// same behaviour for the three cores; these tests also pin what the traces leave out (position(topic)).
import assert from "node:assert/strict";
import { test } from "node:test";
import { event, frame, readySession as session, send } from "../helpers/core-session.mjs";
import { ClientSession } from "../helpers/internals.mjs";

const publish = (topic, offset, data) => frame({ action: "publish", topic, offset, data: { data, from: "p" } });

/** Loses the connection and reconnects (random 0.5: 250 ms); returns the outputs of the new `pong`. */
function reconnect(core, at, pongRid) {
  core.handle({ type: "lost", code: 1006, reason: "" }, at);
  core.handle({ type: "timer" }, at + 250);
  core.handle({ type: "opened" }, at + 251);
  return core.handle(frame({ action: "pong", id: "c1", rid: pongRid }), at + 252);
}

test("history: offline refused NotConnected; since, limit, reverse on the frame; answer; error by rid; lost", () => {
  const core = session();
  assert.deepEqual(core.handle({ type: "history", topic: "chat", handle: "h1" }, 3), [
    send({ action: "history", topic: "chat", rid: "2", from: "c1" }),
  ]);
  assert.deepEqual(
    core.handle(frame({
      action: "history", topic: "chat", rid: "2", offset: 2, epoch: "e1",
      publications: [{ data: "a", from: "p", offset: 1 }, { data: { b: 1 }, from: "q", offset: 2 }],
    }), 4),
    [event({
      type: "history", handle: "h1", offset: 2, epoch: "e1",
      publications: [{ data: "a", from: "p", offset: 1 }, { data: { b: 1 }, from: "q", offset: 2 }],
    })],
  );
  // since, limit 0 (position only: still sent), reverse only when true.
  assert.deepEqual(
    core.handle({ type: "history", topic: "chat", handle: "h2", since: { offset: 1, epoch: "e1" }, limit: 0, reverse: true }, 5),
    [send({ action: "history", topic: "chat", since: { offset: 1, epoch: "e1" }, limit: 0, reverse: true, rid: "3", from: "c1" })],
  );
  assert.deepEqual(core.handle({ type: "history", topic: "chat", handle: "h3", limit: 5, reverse: false }, 6), [
    send({ action: "history", topic: "chat", limit: 5, rid: "4", from: "c1" }),
  ]);
  assert.deepEqual(
    core.handle(frame({ action: "history", topic: "chat", rid: "3", offset: 2, epoch: "e1", publications: [] }), 7),
    [event({ type: "history", handle: "h2", publications: [], offset: 2, epoch: "e1" })],
  );
  // A topic without history: the error frame with the rid refuses the read.
  core.handle({ type: "history", topic: "plain", handle: "h4" }, 8);
  assert.deepEqual(
    core.handle(frame({ action: "error", error: "no history for topic: plain", code: "no_history", topic: "plain", rid: "5" }), 9),
    [event({ type: "refused", handle: "h4", error: "ServerErrorReply", code: "no_history" })],
  );
  // h3 is still pending when the connection is lost: NotConnected; asked offline: NotConnected at once.
  const lost = core.handle({ type: "lost", code: 1006, reason: "" }, 10);
  assert.deepEqual(lost.slice(0, 2), [
    event({ type: "disconnected", code: 1006, reason: "" }),
    event({ type: "refused", handle: "h3", error: "NotConnected", code: "" }),
  ]);
  assert.deepEqual(core.handle({ type: "history", topic: "chat", handle: "h5" }, 11), [
    event({ type: "refused", handle: "h5", error: "NotConnected", code: "" }),
  ]);
  // After close: ClientClosed, as presence.
  core.handle({ type: "close" }, 12);
  assert.deepEqual(core.handle({ type: "history", topic: "chat", handle: "h6" }, 13), [
    event({ type: "refused", handle: "h6", error: "ClientClosed", code: "" }),
  ]);
});

test("recovery: positions from subscribed and deliveries, since on the restore, subscription events", () => {
  const core = session();
  core.handle({ type: "subscribe", topic: "chat", handle: "s1" }, 3);
  core.handle({ type: "subscribe", topic: "plain", handle: "s2" }, 4);
  assert.deepEqual(core.handle(frame({ action: "subscribed", topic: "chat", rid: "2", offset: 4, epoch: "e1" }), 5), [
    event({ type: "subscription", topic: "chat", recovering: false, recovered: false, offset: 4, epoch: "e1" }),
    event({ type: "subscribed", handle: "s1" }),
  ]);
  // Not history-aware (no epoch, no recovered): no subscription event, no position.
  assert.deepEqual(core.handle(frame({ action: "subscribed", topic: "plain", rid: "3" }), 6), [
    event({ type: "subscribed", handle: "s2" }),
  ]);
  assert.equal(core.position("plain"), undefined);
  assert.deepEqual(core.position("chat"), { offset: 4, epoch: "e1" });
  assert.deepEqual(core.handle(publish("chat", 5, "five"), 7), [
    event({ type: "delivery", topic: "chat", data: "five", from: "p", offset: 5 }),
  ]);
  assert.deepEqual(core.handle(publish("chat", 6, "six"), 8)[0].event.offset, 6);
  assert.deepEqual(core.position("chat"), { offset: 6, epoch: "e1" });
  // A delivery without offset stays as before (no offset member).
  assert.deepEqual(core.handle(frame({ action: "publish", topic: "plain", data: { data: 1, from: "p" } }), 9), [
    event({ type: "delivery", topic: "plain", data: 1, from: "p" }),
  ]);
  // The position returned is a copy.
  core.position("chat").offset = 99;
  assert.deepEqual(core.position("chat"), { offset: 6, epoch: "e1" });

  // Reconnect: chat restores with since, plain without; replayed deliveries; recovered.
  assert.deepEqual(reconnect(core, 10, "4"), [
    send({ action: "subscribe", topic: "chat", since: { offset: 6, epoch: "e1" }, rid: "5", from: "c1" }),
    send({ action: "subscribe", topic: "plain", rid: "6", from: "c1" }),
  ]);
  assert.deepEqual(core.handle(publish("chat", 7, "seven"), 263), [
    event({ type: "delivery", topic: "chat", data: "seven", from: "p", offset: 7 }),
  ]);
  assert.deepEqual(core.position("chat"), { offset: 7, epoch: "e1" });
  assert.deepEqual(
    core.handle(frame({ action: "subscribed", topic: "chat", rid: "5", offset: 7, epoch: "e1", recovered: true }), 264),
    [event({ type: "subscription", topic: "chat", recovering: true, recovered: true, offset: 7, epoch: "e1" })],
  );
  assert.deepEqual(core.handle(frame({ action: "subscribed", topic: "plain", rid: "6" }), 265), [
    event({ type: "connected" }),
  ]);
});

test("recovery: a new epoch, a lower offset delivered, explicit since, unsubscribe forgets", () => {
  const core = session();
  core.handle({ type: "subscribe", topic: "chat", handle: "s1" }, 3);
  core.handle(frame({ action: "subscribed", topic: "chat", rid: "2", offset: 9, epoch: "e1" }), 4);
  core.handle(publish("chat", 10, "ten"), 5);
  assert.deepEqual(reconnect(core, 6, "3"), [
    send({ action: "subscribe", topic: "chat", since: { offset: 10, epoch: "e1" }, rid: "4", from: "c1" }),
  ]);
  // The server lost the stream: a new epoch, nothing recovered.
  assert.deepEqual(
    core.handle(frame({ action: "subscribed", topic: "chat", rid: "4", offset: 0, epoch: "e2", recovered: false }), 260),
    [
      event({ type: "subscription", topic: "chat", recovering: true, recovered: false, offset: 0, epoch: "e2" }),
      event({ type: "connected" }),
    ],
  );
  assert.deepEqual(core.position("chat"), { offset: 0, epoch: "e2" });
  // The new stream starts at 1, lower than before: delivered, not dropped; the position follows it.
  assert.deepEqual(core.handle(publish("chat", 1, "one"), 261), [
    event({ type: "delivery", topic: "chat", data: "one", from: "p", offset: 1 }),
  ]);
  assert.deepEqual(core.position("chat"), { offset: 1, epoch: "e2" });
  // Re-subscribing without since does not add it; with since it goes on the frame and becomes the position.
  assert.deepEqual(core.handle({ type: "subscribe", topic: "chat", handle: "s2" }, 262), [
    send({ action: "subscribe", topic: "chat", rid: "5", from: "c1" }),
  ]);
  assert.deepEqual(core.handle({ type: "subscribe", topic: "chat", handle: "s3", since: { offset: 0, epoch: "e2" }, join_leave: true }, 263), [
    send({ action: "subscribe", topic: "chat", join_leave: true, since: { offset: 0, epoch: "e2" }, rid: "6", from: "c1" }),
  ]);
  assert.deepEqual(core.position("chat"), { offset: 0, epoch: "e2" });
  // A topic without history answers a recovery with recovered:false and no position: an event without one.
  core.handle({ type: "subscribe", topic: "plain", handle: "s4", since: { offset: 3, epoch: "x" } }, 264);
  assert.deepEqual(core.handle(frame({ action: "subscribed", topic: "plain", rid: "7", recovered: false }), 265), [
    event({ type: "subscription", topic: "plain", recovering: true, recovered: false }),
    event({ type: "subscribed", handle: "s4" }),
  ]);
  // A reply without a position (Redis unreachable) keeps the one given.
  assert.deepEqual(core.position("plain"), { offset: 3, epoch: "x" });
  core.handle({ type: "unsubscribe", topic: "chat", handle: "u1" }, 266);
  assert.equal(core.position("chat"), undefined);
  core.handle(frame({ action: "unsubscribed", topic: "chat", rid: "8" }), 267);
  // The next restore: plain recovers from its position, chat is gone.
  const restore = reconnect(core, 268, "9");
  assert.deepEqual(restore, [send({ action: "subscribe", topic: "plain", since: { offset: 3, epoch: "x" }, rid: "10", from: "c1" })]);
});

test("recovery: an offline subscribe with since recovers on connection; a refused one forgets its position", () => {
  let rids = 0;
  const core = new ClientSession(
    {
      id: "c1", url: "ws://h/ws/bus", autorestart: false, reconnect: true, reconnectInitialDelay: 500, reconnectFactor: 2,
      reconnectMaxDelay: 30000, offlineQueueSize: 10, offlineQueuePolicy: "drop_oldest", connectTimeout: 10000, token: "",
      refreshableToken: false,
    },
    { random: () => 0.5, newRid: () => String(++rids), newAckId: () => "a" },
  );
  assert.deepEqual(core.handle({ type: "subscribe", topic: "chat", handle: "s1", since: { offset: 2, epoch: "e" } }, 0), []);
  assert.deepEqual(core.position("chat"), { offset: 2, epoch: "e" });
  core.handle({ type: "start" }, 1);
  core.handle({ type: "opened" }, 2);
  assert.deepEqual(core.handle(frame({ action: "pong", id: "c1", rid: "1" }), 3), [
    send({ action: "subscribe", topic: "chat", since: { offset: 2, epoch: "e" }, rid: "2", from: "c1" }),
  ]);
  assert.deepEqual(core.handle(frame({ action: "error", error: "forbidden: subscribe to chat", code: "forbidden", rid: "2" }), 4), [
    event({ type: "connected" }),
    event({ type: "refused", handle: "s1", error: "ServerErrorReply", code: "forbidden" }),
  ]);
  assert.equal(core.position("chat"), undefined);
  // Late deliveries for the topic create nothing; a malformed offset reads as absent.
  assert.deepEqual(core.handle(publish("chat", 3, "late"), 5), []);
  core.handle({ type: "subscribe", topic: "t", handle: "s2" }, 6);
  core.handle(frame({ action: "subscribed", topic: "t", rid: "3", offset: 1, epoch: "e" }), 7);
  assert.deepEqual(core.handle(publish("t", -1, "bad"), 8), [event({ type: "delivery", topic: "t", data: "bad", from: "p" })]);
  assert.deepEqual(core.handle(publish("t", "2", "bad"), 9), [event({ type: "delivery", topic: "t", data: "bad", from: "p" })]);
  assert.deepEqual(core.position("t"), { offset: 1, epoch: "e" });
});

test("malformed history members read as absent: no ProtocolError, the connection goes on", () => {
  const core = session();
  core.handle({ type: "history", topic: "chat", handle: "h1" }, 3);
  assert.deepEqual(
    core.handle(frame({
      action: "history", topic: "chat", rid: "2", offset: "9", epoch: 7,
      publications: ["not an object", { data: "x", from: 5, offset: -2 }, { from: "p", offset: 3 }],
    }), 4),
    [event({
      type: "history", handle: "h1", offset: 0, epoch: "",
      publications: [{ data: "x", from: "", offset: 0 }, { data: null, from: "p", offset: 3 }],
    })],
  );
  core.handle({ type: "history", topic: "chat", handle: "h2" }, 5);
  assert.deepEqual(core.handle(frame({ action: "history", topic: "chat", rid: "3", publications: { a: 1 } }), 6), [
    event({ type: "history", handle: "h2", publications: [], offset: 0, epoch: "" }),
  ]);
  // A subscribed reply with a position of the wrong types: no position, no subscription event.
  core.handle({ type: "subscribe", topic: "t", handle: "s1" }, 7);
  assert.deepEqual(core.handle(frame({ action: "subscribed", topic: "t", rid: "4", offset: 1.5, epoch: ["e"], recovered: "yes" }), 8), [
    event({ type: "subscribed", handle: "s1" }),
  ]);
  assert.equal(core.position("t"), undefined);
  // A history answer nobody asked for (unknown rid) is dropped.
  assert.deepEqual(core.handle(frame({ action: "history", topic: "chat", rid: "99", publications: [] }), 9), []);
  assert.equal(core.ready, true);
});
