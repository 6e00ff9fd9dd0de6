// The Node example of clients/js/README.md, run as written against a real server: it must print its
// messages and EXIT (issue 14: without Close() Node kept running).
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { after, before, test } from "node:test";
import { readmeExample } from "../helpers/readme.mjs";
import { TestServer } from "../helpers/server.mjs";
import { UNIT, withTimeout } from "../helpers/wait.mjs";

const packageRoot = fileURLToPath(new URL("../../", import.meta.url));
let server;
let dir;

before(async () => {
  server = await TestServer.start();
  // Inside the package, so that `import ... from "ksps"` resolves to it as in a project that installed it.
  dir = mkdtempSync(join(packageRoot, "test/.readme-"));
});
after(async () => {
  await server.stop();
  rmSync(dir, { recursive: true, force: true });
});

test("the README's Node example runs as written and exits", async () => {
  const file = join(dir, "example.mjs");
  writeFileSync(file, readmeExample("**In Node**", "js", server.address));
  const child = spawn(process.execPath, [file], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const code = await withTimeout(
    new Promise((resolve) => child.once("exit", resolve)),
    10 * UNIT,
    "the example did not exit (Close() missing?)",
  ).finally(() => child.kill());
  assert.equal(code, 0, stderr);
  assert.match(stdout, /received \{ hello: 'world' \} from client_\d+_\w+/);
  assert.match(stdout, /received From Node! from/);
  assert.match(stdout, /first answer from client_/);
  assert.match(stdout, /answers: 1/);
});

test("the README's history example runs as written: earlier messages, then live from the page's end", async () => {
  const own = await TestServer.start({ args: ["--history-size", "50"] });
  try {
    // Two publications before the example runs: its page shows them, its subscription continues after them.
    const file = join(dir, "history.mjs");
    const seed = join(dir, "seed.mjs");
    writeFileSync(seed, `import { Client } from "ksps";
const c = await Client.NewClient({ Address: ${JSON.stringify(own.address)} });
c.Publish("chat", "one");
c.Publish("chat", "two");
while ((await c.History("chat", { limit: 0 })).offset < 2);
await c.Close();
`);
    writeFileSync(file, readmeExample("## History and recovery", "js", own.address));
    for (const [script, check] of [
      [seed, () => {}],
      [file, (stdout) => {
        assert.match(stdout, /^earlier: 1 one\nearlier: 2 two\nlive: 3 hello\nposition: \{ offset: 3, epoch: '[^']+' \}\n$/);
      }],
    ]) {
      const child = spawn(process.execPath, [script], { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      let stderr = "";
      child.stdout.on("data", (chunk) => (stdout += chunk));
      child.stderr.on("data", (chunk) => (stderr += chunk));
      const code = await withTimeout(new Promise((resolve) => child.once("exit", resolve)), 10 * UNIT, `${script} did not exit`)
        .finally(() => child.kill());
      assert.equal(code, 0, stderr);
      check(stdout);
    }
  } finally {
    await own.stop();
  }
});
