// The package's internal modules, for unit tests: bundled from src/ with esbuild into a temporary file.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import * as esbuild from "esbuild";

const root = fileURLToPath(new URL("../../", import.meta.url));
const entry = `
export * from "./src/exports.ts";
export { ReconnectPolicy } from "./src/core/backoff.ts";
export { OfflineQueue } from "./src/core/offline-queue.ts";
export { ClientSession } from "./src/core/session.ts";
export { FrameBuilder } from "./src/core/frames.ts";
export { decodeServerFrames, unwrapDelivery, directMessage, readAckResponse } from "./src/protocol/codec.ts";
export { resolveOptions } from "./src/options.ts";
export * as actions from "./src/protocol/actions.ts";
`;
const result = await esbuild.build({
  stdin: { contents: entry, resolveDir: root, loader: "ts" },
  bundle: true,
  format: "esm",
  platform: "node",
  write: false,
  logLevel: "error",
});
const dir = mkdtempSync(join(tmpdir(), "ksps-internals-"));
const file = join(dir, "internals.mjs");
writeFileSync(file, result.outputFiles[0].text);
const internals = await import(pathToFileURL(file).href);
rmSync(dir, { recursive: true, force: true });

export const { ReconnectPolicy, OfflineQueue, ClientSession, FrameBuilder, decodeServerFrames, unwrapDelivery, directMessage, readAckResponse } =
  internals;
/** The option resolution NewClient uses, and the protocol constants the client uses (the vocabulary check). */
export const { resolveOptions, actions } = internals;
export const { ProtocolError, OfflineQueueFull } = internals;
