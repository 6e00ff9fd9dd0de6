// Unit tests of the parts that need no socket: reconnect policy, offline queue, codec.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import {
  FrameBuilder,
  OfflineQueue,
  ProtocolError,
  ReconnectPolicy,
  decodeServerFrames,
  directMessage,
  readAckResponse,
  unwrapDelivery,
} from "../helpers/internals.mjs";

describe("ReconnectPolicy", () => {
  test("full jitter: each delay is random in [0, bound], the bound grows by the factor up to the max", () => {
    const draws = [1, 1, 1, 1, 1, 1, 0.5, 0];
    const policy = new ReconnectPolicy(100, 2, 1000, () => draws.shift());
    const delays = Array.from({ length: 8 }, () => policy.nextDelay());
    assert.deepEqual(delays, [100, 200, 400, 800, 1000, 1000, 500, 0]);
  });

  test("reset starts again from the initial delay", () => {
    const policy = new ReconnectPolicy(100, 2, 1000, () => 1);
    policy.nextDelay();
    policy.nextDelay();
    assert.equal(policy.bound(), 400);
    policy.reset();
    assert.equal(policy.nextDelay(), 100);
  });

  test("the default random source stays within the bound", () => {
    const policy = new ReconnectPolicy(50, 3, 400);
    for (let n = 0; n < 100; n += 1) {
      const bound = policy.bound();
      const delay = policy.nextDelay();
      assert.ok(delay >= 0 && delay <= bound);
    }
    assert.equal(policy.bound(), 400);
  });
});

describe("OfflineQueue", () => {
  const frame = (n, handle) => (handle === undefined ? { frame: { n } } : { frame: { n }, handle });

  test("drop_oldest keeps the newest frames and returns the dropped one", () => {
    const queue = new OfflineQueue(2, "drop_oldest");
    assert.equal(queue.push(frame(1)), undefined);
    assert.equal(queue.push(frame(2)), undefined);
    assert.deepEqual(queue.push(frame(3)), frame(1));
    assert.deepEqual(queue.drain(), [frame(2), frame(3)]);
    assert.equal(queue.size, 0);
  });

  test("drop_newest returns the new frame", () => {
    const queue = new OfflineQueue(1, "drop_newest");
    queue.push(frame(1));
    assert.deepEqual(queue.push(frame(2)), frame(2));
    assert.deepEqual(queue.drain(), [frame(1)]);
  });

  test("raise drops the new frame (the client throws OfflineQueueFull); size 0 queues nothing", () => {
    const queue = new OfflineQueue(1, "raise");
    queue.push(frame(1));
    assert.deepEqual(queue.push(frame(2)), frame(2));
    const none = new OfflineQueue(0, "drop_oldest");
    assert.deepEqual(none.push(frame(1)), frame(1));
    assert.equal(none.size, 0);
  });

  test("removeHandle drops a queued ack request", () => {
    const queue = new OfflineQueue(3, "drop_oldest");
    queue.push(frame(1, "a1"));
    queue.push(frame(2));
    assert.equal(queue.removeHandle("a1"), true);
    assert.deepEqual(queue.drain(), [frame(2)]);
  });
});

describe("codec", () => {
  const encoder = new FrameBuilder("me");
  const decode = (frame) => frame;

  test("every frame carries from; acks ask for a timeout and progress (spec §6.1-§6.3)", () => {
    assert.deepEqual(decode(encoder.ping("1")), { action: "ping", from: "me", rid: "1" });
    assert.deepEqual(decode(encoder.ping("2", "T")), { action: "ping", from: "me", token: "T", rid: "2" });
    assert.deepEqual(decode(encoder.publish("t", { a: 1 })), { action: "publish", topic: "t", data: { a: 1 }, from: "me" });
    assert.deepEqual(decode(encoder.publishWithAck("t", 1, "c1", 250)), {
      action: "publish_with_ack", topic: "t", data: 1, ack_id: "c1", timeout: 250, progress: true, from: "me",
    });
    assert.deepEqual(decode(encoder.publishToIdWithAck("you", null, "c2", 0)), {
      action: "publish_to_id_with_ack", to: "you", data: null, ack_id: "c2", timeout: 0, progress: true, from: "me",
    });
    assert.deepEqual(decode(encoder.publishToServer("h:1/ws/bus", 2, true)), {
      action: "publish_to_server", to: "h:1/ws/bus", data: 2, status: { is_secure: true }, from: "me",
    });
  });

  test("the ack frame has the original shape; error only when there is one", () => {
    assert.deepEqual(decode(encoder.ack("s1", true, "")), {
      action: "ack", ack_id: "s1", data: { ack_id: "s1", client_id: "me", success: true }, from: "me",
    });
    assert.equal(decode(encoder.ack("s1", false, "boom")).data.error, "boom");
  });

  test("decoding accepts one object or an array of objects, and rejects the rest with ProtocolError", () => {
    assert.deepEqual(decodeServerFrames('{"action":"pong","id":"me"}'), [{ action: "pong", id: "me" }]);
    assert.equal(decodeServerFrames('[{"action":"a"},{"action":"b"}]').length, 2);
    for (const bad of ["{", "3", '"x"', "{}", '{"action":5}', '{"action":"publish","topic":7}', "[1]"]) {
      assert.throws(() => decodeServerFrames(bad), ProtocolError, bad);
    }
  });

  test("null members are absent; status and responses are checked", () => {
    const [frame] = decodeServerFrames(
      '{"action":"ack_response","ack_id":"c","topic":null,"responses":{"B":{"ack_id":"s","success":true,"extra":1},"bad":3}}',
    );
    assert.deepEqual(frame, { action: "ack_response", ack_id: "c", responses: { B: { ack_id: "s", client_id: "B", success: true } } });
    const [status] = decodeServerFrames('{"action":"ack_status","ack_id":"c","status":{"B":false,"C":true}}');
    assert.deepEqual(status.status, { B: false, C: true });
  });

  test("deliveries are unwrapped when nested (spec §4.2), taken as is otherwise", () => {
    assert.deepEqual(unwrapDelivery({ action: "publish", data: { data: 1, from: "A" } }), { data: 1, from: "A" });
    assert.deepEqual(unwrapDelivery({ action: "publish", data: { data: 1, from: "A" }, from: "top" }), { data: 1, from: "top" });
    assert.deepEqual(unwrapDelivery({ action: "publish", data: "raw" }), { data: "raw", from: "" });
    assert.deepEqual(unwrapDelivery({ action: "publish" }), { data: null, from: "" });
    assert.deepEqual(directMessage({ action: "direct_message", data: { data: 1 }, from: "A" }), { data: { data: 1 }, from: "A" });
  });

  test("readAckResponse keeps the wire shape", () => {
    assert.deepEqual(readAckResponse({ ack_id: "s", client_id: "B", success: false, error: "x" }), {
      ack_id: "s", client_id: "B", success: false, error: "x",
    });
    assert.equal(readAckResponse({ ack_id: "s", success: true }), undefined);
    assert.equal(readAckResponse("nope"), undefined);
  });
});
