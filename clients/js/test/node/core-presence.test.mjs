// Presence in the sans-I/O core (spec §15), step by step: join_leave on subscribe and on its restore,
// presence queries matched by rid, join/leave events, NotConnected offline and on a lost connection. Not a
// spec/traces vector yet: the Python and Go cores add the presence intents with their owner.
import assert from "node:assert/strict";
import { test } from "node:test";
import { event, readySession as session, send } from "../helpers/core-session.mjs";

test("presence: join_leave subscribe and restore, queries by rid, join/leave events, NotConnected", () => {
  const core = session();
  assert.deepEqual(core.handle({ type: "subscribe", topic: "room", handle: "s1", join_leave: true }, 3), [
    send({ action: "subscribe", topic: "room", join_leave: true, rid: "2", from: "c1" }),
  ]);
  core.handle({ type: "frame", frame: { action: "subscribed", topic: "room", rid: "2" } }, 4);
  assert.deepEqual(core.handle({ type: "presence", topic: "room", handle: "p1" }, 5), [
    send({ action: "presence", topic: "room", rid: "3", from: "c1" }),
  ]);
  assert.deepEqual(
    core.handle({ type: "frame", frame: { action: "presence", topic: "room", count: 2, ids: ["c1", "c2"], rid: "3" } }, 6),
    [event({ type: "presence", handle: "p1", count: 2, ids: ["c1", "c2"], truncated: false })],
  );
  assert.deepEqual(core.handle({ type: "frame", frame: { action: "join", topic: "room", id: "c3" } }, 7), [
    event({ type: "join", topic: "room", id: "c3" }),
  ]);
  assert.deepEqual(core.handle({ type: "frame", frame: { action: "leave", topic: "room", id: "c3" } }, 8), [
    event({ type: "leave", topic: "room", id: "c3" }),
  ]);
  // A refusal by rid (spec §15.2: needs the subscribe permission).
  core.handle({ type: "presence", topic: "secret", handle: "p2" }, 9);
  assert.deepEqual(
    core.handle({ type: "frame", frame: { action: "error", error: "forbidden: presence to secret", code: "forbidden", rid: "4" } }, 10),
    [event({ type: "refused", handle: "p2", error: "ServerErrorReply", code: "forbidden" })],
  );
  // In flight when the connection is lost, and asked offline: NotConnected.
  core.handle({ type: "presence", topic: "room", handle: "p3" }, 11);
  const lost = core.handle({ type: "lost", code: 1006, reason: "" }, 12);
  assert.deepEqual(lost[1], event({ type: "refused", handle: "p3", error: "NotConnected", code: "" }));
  assert.deepEqual(core.handle({ type: "presence", topic: "room", handle: "p4" }, 13), [
    event({ type: "refused", handle: "p4", error: "NotConnected", code: "" }),
  ]);
  // The restore keeps join_leave.
  core.handle({ type: "timer" }, 262);
  core.handle({ type: "opened" }, 263);
  assert.deepEqual(core.handle({ type: "frame", frame: { action: "pong", id: "c1", rid: "6" } }, 264), [
    send({ action: "subscribe", topic: "room", join_leave: true, rid: "7", from: "c1" }),
  ]);
});
