/**
 * Action names and fixed texts of the ksps protocol (spec/protocol.md §3-§8), from the generated
 * `vocabulary.ts` (source: spec/vocabulary.toml; run `python scripts/generate_vocabulary.py`).
 * @module
 */

import { DIRECT_TOPIC_PREFIX } from "./vocabulary.js";

export {
  ClientAction,
  CLOSE_REPLACED,
  CLOSE_TOKEN_EXPIRED,
  CLOSE_UNAUTHORIZED,
  NO_SUBSCRIBER,
  ServerAction,
} from "./vocabulary.js";

/** Topics of direct messages with acknowledgement start with `__direct_<ID>_` (spec §4.4, §6.4). */
export function directTopicPrefix(clientId: string): string {
  return `${DIRECT_TOPIC_PREFIX}${clientId}_`;
}
