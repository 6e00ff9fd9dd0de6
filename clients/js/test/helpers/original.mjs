// The original KSPS JavaScript client (`ksps/client.js` of the Go module github.com/kamalshkeir/ksmux),
// loaded from the Go module cache: never copied into this repository, never fetched by hand.
import { execFileSync } from "node:child_process";
import { createRequire } from "node:module";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import WebSocket from "ws";
import { Inbox } from "./wait.mjs";

/** The module and version bench/go.mod pins for the original Go server (bench/targets/ksmux). */
export const ORIGINAL_MODULE = "github.com/kamalshkeir/ksmux@v0.9.5";

// Run in bench/, whose go.sum holds the module's checksum: `go` verifies the download against it.
const benchDir = fileURLToPath(new URL("../../../../bench/", import.meta.url));

/**
 * Downloads the module with `go mod download` (a no-op once it is in the module cache) and loads its
 * `ksps/client.js`. Throws with the reason when Go is missing or the download fails: the test then fails,
 * it is never skipped.
 */
export function loadOriginalClient() {
  let output;
  try {
    output = execFileSync("go", ["mod", "download", "-json", ORIGINAL_MODULE], {
      cwd: benchDir,
      encoding: "utf8",
      stdio: ["ignore", "pipe", "pipe"],
      timeout: 300_000,
    });
  } catch (error) {
    if (error.code === "ENOENT") {
      throw new Error("the original client test needs Go on PATH (https://go.dev/dl/) to fetch " + ORIGINAL_MODULE);
    }
    throw new Error(`go mod download ${ORIGINAL_MODULE} failed: ${error.stdout ?? ""}${error.stderr ?? error.message}`);
  }
  const info = JSON.parse(output);
  if (info.Error || !info.Dir) {
    throw new Error(`go mod download ${ORIGINAL_MODULE}: ${info.Error ?? "no Dir in its output"}`);
  }
  // The original is CommonJS written for browsers: it uses the global WebSocket, which Node 20 lacks. This
  // file runs in its own process under `node --test`, so the global does not leak into the other tests.
  globalThis.WebSocket ??= WebSocket;
  return createRequire(import.meta.url)(join(info.Dir, "ksps", "client.js"));
}

/**
 * Connects an original client to `server`, recording every frame it receives (`client.frames`, via its
 * OnDataWs hook) and its direct messages (`client.direct`, via OnId), and waits until it is registered: its
 * NewClient resolves when the socket opens, before its `ping` is even sent (a sender loop sends queued
 * frames every 10 ms), and a direct message to an ID not registered yet is dropped (spec §5.1).
 */
export async function connectOriginal(Client, server, options = {}) {
  const frames = new Inbox("frames of the original client");
  const direct = new Inbox("direct messages of the original client");
  const client = await Client.NewClient({
    Address: server.address,
    OnDataWs: async (frame) => frames.push(frame),
    OnId: (message) => direct.push(message),
    ...options,
  });
  client.frames = frames;
  client.direct = direct;
  await frames.next((frame) => frame.action === "pong" && frame.id === client.Id);
  return client;
}

/**
 * Subscribes an original client and waits for the server's confirmation: its Subscribe returns before the
 * frame is even sent (it queues it for a sender loop), and confirms nothing.
 */
export async function subscribeOriginal(client, topic, callback) {
  client.Subscribe(topic, callback);
  await client.frames.next((frame) => frame.action === "subscribed" && frame.topic === topic);
}
