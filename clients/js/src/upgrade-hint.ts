/**
 * What a browser does not say: a WebSocket whose upgrade failed only reports close code 1006, whether the
 * server is down or refused the page (spec §1.5: a page from another origin gets `403 Forbidden` unless
 * the server lists that origin in `--allowed-origins`). The client's error then names the likely causes.
 * @module
 */

interface PageLocation {
  readonly origin?: string;
  readonly host?: string;
}

/**
 * The reason to report for a connection to `url` that failed before it opened without any detail, in a
 * browser page; undefined elsewhere (Node's `ws` gives the detail itself, e.g. "connect ECONNREFUSED").
 */
export function upgradeFailureHint(url: string): string | undefined {
  const page = (globalThis as { location?: PageLocation }).location;
  if (page?.origin === undefined || page.origin === "null" || typeof (globalThis as { document?: unknown }).document !== "object") {
    return undefined;
  }
  let busHost: string;
  try {
    busHost = new URL(url).host;
  } catch {
    return undefined;
  }
  const unknown = "the browser does not say why: the server is down or unreachable, or it refused the WebSocket upgrade";
  if (page.host === busHost) {
    return `${unknown} (see the server's log)`;
  }
  return (
    `${unknown}; this page's origin ${page.origin} is not the bus's (${busHost}), and a server refuses other ` +
    `origins with 403 Forbidden unless it allows them: ksps serve --allowed-origins ${page.origin}`
  );
}
