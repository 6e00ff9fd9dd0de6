// Replays every trace vector of spec/traces/*.json through the sans-I/O core (ClientSession) and compares
// its outputs exactly, step by step (spec/traces/README.md): the same vectors the Python and Go cores
// replay, so the three clients cannot diverge on behaviour silently.
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import { ClientSession } from "../helpers/internals.mjs";

const traces = fileURLToPath(new URL("../../../../spec/traces/", import.meta.url));
const files = readdirSync(traces).filter((name) => name.endsWith(".json")).sort();

/** The core's options from a trace's snake_case options, with the vocabulary's defaults. */
function sessionOptions(options) {
  const secure = options.secure ?? false;
  return {
    id: options.id,
    url: `${secure ? "wss" : "ws"}://${options.address ?? "localhost:9313"}${options.path ?? "/ws/bus"}`,
    autorestart: options.autorestart ?? false,
    reconnect: options.reconnect ?? true,
    reconnectInitialDelay: options.reconnect_initial_delay ?? 500,
    reconnectFactor: options.reconnect_factor ?? 2,
    reconnectMaxDelay: options.reconnect_max_delay ?? 30_000,
    offlineQueueSize: options.offline_queue_size ?? 1024,
    offlineQueuePolicy: options.offline_queue_policy ?? "drop_oldest",
    connectTimeout: options.connect_timeout ?? 10_000,
    token: options.token ?? "",
    refreshableToken: options.refreshable_token ?? false,
  };
}

/** Deterministic randomness and IDs: the trace's random values in order; rids "1", "2"...; ack IDs
 * `client_ack_<id>_<n>` (spec/traces/README.md). */
function environment(random, id) {
  let rids = 0;
  let acks = 0;
  let draws = 0;
  return {
    random: () => {
      assert.ok(draws < random.length, "the trace's random values are used up");
      return random[draws++];
    },
    newRid: () => String(++rids),
    newAckId: () => `client_ack_${id}_${++acks}`,
  };
}

test("there are trace vectors to replay", () => {
  assert.ok(files.length > 0, `no trace in ${traces}`);
});

describe("trace vectors", () => {
  for (const file of files) {
    const trace = JSON.parse(readFileSync(join(traces, file), "utf8"));
    test(`${file}: ${trace.name}`, () => {
      const session = new ClientSession(sessionOptions(trace.options), environment(trace.random ?? [], trace.options.id));
      trace.steps.forEach((step, index) => {
        const where = `${file} step ${index} (at ${step.at}, input ${step.input.type})`;
        assert.deepEqual(session.handle(step.input, step.at), step.output, where);
        if ("deadline" in step) {
          assert.equal(session.deadline, step.deadline, `${where}: deadline`);
        }
      });
    });
  }
});
