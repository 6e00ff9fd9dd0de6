/**
 * ksps client for Node: uses the `ws` package (Node 20 has no stable global WebSocket).
 *
 * ```ts
 * import { Client } from "ksps";
 * const client = await Client.NewClient({ Address: "localhost:9313" });
 * client.Subscribe("events", (message) => console.log(message.data, "from", message.from));
 * ```
 * @module
 */

import WebSocket from "ws";
import { setDefaultWebSocket } from "./platform.js";

setDefaultWebSocket(WebSocket);

export * from "./exports.js";
