// Publications with acknowledgement: Wait, WaitAny, GetStatus, IsComplete, Cancel, error acks (spec §6).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { CallbackError, NotConnected } from "ksps";
import { connect, subscribed } from "../helpers/clients.mjs";
import { TestServer } from "../helpers/server.mjs";
import { UNIT, deferred, withTimeout } from "../helpers/wait.mjs";

describe("acknowledgements", () => {
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

  test("Wait returns every subscriber's response, keyed by client ID", async () => {
    const [a, b, c] = [await open(), await open(), await open()];
    await subscribed(b, "jobs", () => {});
    await subscribed(c, "jobs", async () => {});
    const ack = a.PublishWithAck("jobs", { n: 1 }, 5 * UNIT);
    const responses = await ack.Wait();
    assert.deepEqual(Object.keys(responses).sort(), [b.Id, c.Id].sort());
    for (const id of [b.Id, c.Id]) {
      assert.equal(responses[id].client_id, id);
      assert.equal(responses[id].success, true);
      assert.match(responses[id].ack_id, /.+/);
      assert.equal("error" in responses[id], false);
    }
    // The results are kept: a later wait sees them too.
    assert.deepEqual(await ack.wait(), responses);
    assert.equal(ack.IsComplete(), true);
    assert.deepEqual(ack.GetStatus(), { [b.Id]: true, [c.Id]: true });
  });

  test("WaitAny returns the FIRST response while others are still pending", async () => {
    const [a, fast, slow] = [await open(), await open(), await open()];
    const release = deferred();
    await subscribed(fast, "race", () => {});
    await subscribed(slow, "race", () => release.promise);
    const ack = a.publishWithAck("race", "go", 5 * UNIT);
    const first = await withTimeout(ack.WaitAny(), 3 * UNIT, "WaitAny");
    assert.equal(first.success, true);
    assert.equal(first.response.client_id, fast.Id);
    assert.equal(ack.isComplete(), false);
    release.resolve();
    const responses = await ack.Wait();
    assert.deepEqual(Object.keys(responses).sort(), [fast.Id, slow.Id].sort());
    assert.deepEqual(await ack.waitAny(), first);
  });

  test("FetchStatus asks the server; GetStatus and IsComplete give the last known state synchronously", async () => {
    // Issue 14: IsComplete/GetStatus returned promises, so `if (ack.IsComplete())` was always true.
    const [a, b] = [await open(), await open()];
    const release = deferred();
    await subscribed(b, "status", () => release.promise);
    const ack = a.PublishWithAck("status", 1, 5 * UNIT);
    assert.equal(ack.IsComplete(), false);
    assert.deepEqual(ack.GetStatus(), {});
    const fetched = ack.FetchStatus();
    assert.ok(fetched instanceof Promise);
    assert.deepEqual(await fetched, { [b.Id]: false });
    assert.deepEqual(ack.getStatus(), { [b.Id]: false });
    assert.equal(ack.isComplete(), false);
    release.resolve();
    await ack.Wait();
    assert.deepEqual(ack.GetStatus(), { [b.Id]: true });
    assert.equal(ack.IsComplete(), true);
    await assert.rejects(ack.fetchStatus(), NotConnected); // ended: the server forgot it
  });

  test("Cancel releases a pending Wait at once", async () => {
    const [a, b] = [await open(), await open()];
    const release = deferred();
    await subscribed(b, "cancel", () => release.promise);
    const ack = a.PublishWithAck("cancel", 1, 20 * UNIT);
    const waiting = ack.Wait();
    const waitingAny = ack.WaitAny();
    assert.deepEqual(await ack.FetchStatus(), { [b.Id]: false });
    assert.equal(ack.Cancel(), undefined);
    assert.equal(ack.IsComplete(), false);
    assert.deepEqual(await withTimeout(waiting, UNIT, "Wait after Cancel"), {});
    assert.deepEqual(await withTimeout(waitingAny, UNIT, "WaitAny after Cancel"), { response: null, success: false });
    assert.equal(ack.cancelled, true);
    assert.equal(ack.IsComplete(), false);
    ack.cancel();
    release.resolve();
  });

  test("a callback that throws or rejects sends an error ack and reports to OnError", async () => {
    const [a, thrower, rejecter] = [await open(), await open(), await open()];
    await subscribed(thrower, "fails", () => {
      throw new Error("sync failure");
    });
    await subscribed(rejecter, "fails", async () => {
      throw new Error("async failure");
    });
    const responses = await a.PublishWithAck("fails", 1, 5 * UNIT).Wait();
    assert.deepEqual(responses[thrower.Id], {
      ack_id: responses[thrower.Id].ack_id, client_id: thrower.Id, success: false, error: "sync failure",
    });
    assert.equal(responses[rejecter.Id].success, false);
    assert.equal(responses[rejecter.Id].error, "async failure");
    const reported = await thrower.testEvents.next((event) => event.type === "error");
    assert.ok(reported.error instanceof CallbackError);
    assert.equal(reported.error.topic, "fails");
    assert.equal(reported.error.cause.message, "sync failure");
  });

  test("no subscriber: Wait gives {} at once, WaitAny gives nothing", async () => {
    const a = await open();
    const ack = a.PublishWithAck("nobody-listens", 1, 20 * UNIT);
    assert.deepEqual(await withTimeout(ack.Wait(), 2 * UNIT, "Wait"), {});
    assert.deepEqual(await ack.WaitAny(), { response: null, success: false });
    assert.equal(await ack.IsComplete(), true);
    assert.deepEqual(await ack.GetStatus(), {});
  });

  test("the timeout is the server's: responders that do not answer in time are missing", async () => {
    const [a, b] = [await open(), await open()];
    const release = deferred();
    await subscribed(b, "slow", () => release.promise);
    const started = performance.now();
    const responses = await a.PublishWithAck("slow", 1, 0.3 * UNIT).Wait();
    const elapsed = performance.now() - started;
    release.resolve();
    assert.deepEqual(responses, {});
    assert.ok(elapsed >= 0.25 * UNIT && elapsed < 2 * UNIT, `waited ${elapsed} ms`);
  });

  test("PublishToIDWithAck reaches the target's OnId, and reports its failure", async () => {
    const a = await open();
    const b = await open({
      OnId: (message) => {
        if (message.data === "fail") {
          throw new Error("refused");
        }
      },
    });
    const ok = await a.PublishToIDWithAck(b.Id, "hello", 5 * UNIT).Wait();
    assert.equal(ok[b.Id].success, true);
    const failed = await a.publishToIdWithAck(b.Id, "fail", 5 * UNIT).Wait();
    assert.equal(failed[b.Id].success, false);
    assert.equal(failed[b.Id].error, "refused");
  });

  test("PublishToIDWithAck: an unknown target answers {} at once; no OnId answers an error ack", async () => {
    const a = await open();
    const noHandler = await open({ OnId: undefined });
    assert.deepEqual(await withTimeout(a.PublishToIDWithAck("nobody-here", 1, 20 * UNIT).Wait(), 2 * UNIT, "Wait"), {});
    const responses = await a.PublishToIDWithAck(noHandler.Id, 1, 5 * UNIT).Wait();
    assert.equal(responses[noHandler.Id].success, false);
    assert.equal(responses[noHandler.Id].error, "no subscriber for topic");
  });

  test("an async OnId handler is awaited before the ack", async () => {
    const a = await open();
    const release = deferred();
    const b = await open({ OnId: () => release.promise });
    const ack = a.PublishToIDWithAck(b.Id, 1, 5 * UNIT);
    assert.deepEqual(await ack.FetchStatus(), { [b.Id]: false });
    release.resolve();
    assert.equal((await ack.Wait())[b.Id].success, true);
  });
});
