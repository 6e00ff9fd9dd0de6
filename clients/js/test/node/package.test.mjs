// The built package as its users see it: ESM and CommonJS entry points, declarations, the browser builds.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, test } from "node:test";
import vm from "node:vm";
import * as esm from "ksps";

const root = fileURLToPath(new URL("../../", import.meta.url));
const require = createRequire(import.meta.url);
const PUBLIC_NAMES = [
  "CallbackError", "Client", "ClientAck", "ClientClosed", "ConnectionFailed", "ConnectionReplaced", "KspsError",
  "NewClient", "NotConnected", "OfflineQueueFull", "ProtocolError", "ServerErrorReply",
];

describe("package", () => {
  test("the ES module and CommonJS entry points export the same API", () => {
    const cjs = require("ksps");
    for (const name of PUBLIC_NAMES) {
      assert.equal(typeof esm[name], "function", `ESM ${name}`);
      assert.equal(typeof cjs[name], "function", `CommonJS ${name}`);
    }
    assert.deepEqual(Object.keys(cjs).sort(), Object.keys(esm).sort());
    for (const verb of ["Subscribe", "Unsubscribe", "Publish", "PublishToID", "PublishToServer", "PublishWithAck",
      "PublishToIDWithAck", "Close", "subscribe", "unsubscribe", "publish", "publishToId", "publishToServer",
      "publishWithAck", "publishToIdWithAck", "close"]) {
      assert.equal(typeof esm.Client.prototype[verb], "function", verb);
    }
    for (const method of ["Wait", "WaitAny", "GetStatus", "IsComplete", "Cancel", "wait", "waitAny", "getStatus",
      "isComplete", "cancel"]) {
      assert.equal(typeof esm.ClientAck.prototype[method], "function", method);
    }
  });

  test("the script build defines the global BusClient and never includes ws", async () => {
    for (const file of ["ksps.browser.js", "ksps.browser.min.js"]) {
      const source = readFileSync(join(root, "dist", file), "utf8");
      assert.doesNotMatch(source, /require\(|from ["']ws["']/);
      const context = vm.createContext({});
      vm.runInContext(source, context);
      const BusClient = vm.runInContext("BusClient", context);
      for (const name of PUBLIC_NAMES) {
        assert.equal(typeof BusClient[name], "function", `${file}: BusClient.${name}`);
      }
      // With no WebSocket in this context, NewClient says so.
      await assert.rejects(BusClient.Client.NewClient({ Address: "localhost:1" }), /no WebSocket implementation/);
    }
  });

  test("the declarations are strict-clean for ESM and CommonJS users, with no any in the public API", () => {
    const tsc = join(root, "node_modules/typescript/bin/tsc");
    try {
      execFileSync(process.execPath, [tsc, "-p", join(root, "test/types/tsconfig.json")], { encoding: "utf8" });
    } catch (error) {
      assert.fail(`tsc failed:\n${error.stdout}${error.stderr}`);
    }
    for (const file of readdirSync(join(root, "dist/esm"), { recursive: true })) {
      if (!file.endsWith(".d.ts")) continue;
      const code = readFileSync(join(root, "dist/esm", file), "utf8").replace(/\/\*[\s\S]*?\*\/|\/\/.*$/gm, "");
      assert.doesNotMatch(code, /\bany\b/, `dist/esm/${file}`);
    }
  });
});
