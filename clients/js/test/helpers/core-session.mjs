// A registered sans-I/O ClientSession for the step-by-step core tests, and builders of its inputs/outputs.
import assert from "node:assert/strict";
import { ClientSession } from "./internals.mjs";

export const send = (frame) => ({ type: "send", frame });
export const event = (body) => ({ type: "event", event: body });
export const frame = (body) => ({ type: "frame", frame: body });

/** A session of client "c1" with the vocabulary's defaults (random 0.5, rids "1", "2", ...), registered at 2 ms. */
export function readySession() {
  let rids = 0;
  const core = new ClientSession(
    {
      id: "c1", url: "ws://localhost:9313/ws/bus", autorestart: false, reconnect: true, reconnectInitialDelay: 500,
      reconnectFactor: 2, reconnectMaxDelay: 30000, offlineQueueSize: 1024, offlineQueuePolicy: "drop_oldest",
      connectTimeout: 10000, token: "", refreshableToken: false,
    },
    { random: () => 0.5, newRid: () => String(++rids), newAckId: () => "a" },
  );
  core.handle({ type: "start" }, 0);
  core.handle({ type: "opened" }, 1);
  assert.deepEqual(core.handle(frame({ action: "pong", id: "c1", rid: "1" }), 2), [event({ type: "connected" })]);
  return core;
}
