/**
 * ksps client for browsers: uses the global `WebSocket`. The script build (`ksps.browser.js`) exposes
 * this module as the global `BusClient`:
 *
 * ```html
 * <script src="/ksps.js"></script>
 * <script>
 *   const client = await BusClient.Client.NewClient(); // Address: the page's host
 * </script>
 * ```
 * @module
 */

export * from "./exports.js";
