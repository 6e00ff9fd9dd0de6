/**
 * The default WebSocket implementation, chosen by the entry point: the browser's global `WebSocket`, or
 * the `ws` package in Node (imported only by the Node entry, so browser bundles never contain it).
 * @module
 */

import { webSocketOpener, type TransportOpener, type WebSocketConstructor } from "./transport.js";

let defaultWebSocket: WebSocketConstructor | undefined;

/** Sets the WebSocket class `NewClient` uses when the `WebSocket` option is not given. */
export function setDefaultWebSocket(WebSocketClass: WebSocketConstructor): void {
  defaultWebSocket = WebSocketClass;
}

/** The transport opener over the default WebSocket class, else over the global `WebSocket`. */
export function defaultWebSocketOpener(): TransportOpener {
  const WebSocketClass = defaultWebSocket ?? (globalThis as { WebSocket?: WebSocketConstructor }).WebSocket;
  if (WebSocketClass === undefined) {
    throw new TypeError("no WebSocket implementation found: pass one as the WebSocket option");
  }
  return webSocketOpener(WebSocketClass);
}
