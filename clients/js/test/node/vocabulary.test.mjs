// One vocabulary (spec/vocabulary.toml): one spelling and one meaning per name, defaults from the generated file.
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { CallbackError, Client, ClientClosed, ConnectionReplaced, KspsError, NotConnected } from "ksps";

describe("vocabulary", () => {
  test("ConnectionReplaced is a kind of ClientClosed; NotConnected and CallbackError are KspsErrors", () => {
    assert.ok(new ConnectionReplaced("x") instanceof ClientClosed);
    assert.ok(new NotConnected("x") instanceof KspsError);
    assert.equal(new NotConnected("x").name, "NotConnected");
    assert.ok(new CallbackError("t", new Error("boom")) instanceof KspsError);
  });

  test("the option has one spelling: AutoRestart is refused with the right one, not silently ignored", async () => {
    await assert.rejects(Client.NewClient({ Address: "127.0.0.1:1", AutoRestart: true }), /spelled Autorestart/);
  });
});
