/**
 * ksps client for browsers: uses the global `WebSocket`. The script build (`ksps.browser.js`) exposes
 * this module as the global `BusClient`:
 *
 * ```html
 * <script src="http://localhost:9313/ksps.js"></script>
 * <script type="module">
 *   const client = await BusClient.Client.NewClient({ Address: "localhost:9313" }); // default: the page's host
 * </script>
 * ```
 *
 * A page from another origin than the bus needs `ksps serve --allowed-origins <the page's origin>`.
 * @module
 */

export * from "./exports.js";
