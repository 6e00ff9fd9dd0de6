"""Action names, error texts and close codes of the ksps protocol (spec/protocol.md).

One source of truth for the Python server and client. The other languages' constants are checked against
this module by the conformance suite.
"""

from __future__ import annotations

from typing import Final

# Client -> server actions (spec §3-§6, §8).
PING: Final = "ping"
SUBSCRIBE: Final = "subscribe"
UNSUBSCRIBE: Final = "unsubscribe"
PUBLISH: Final = "publish"
DIRECT_MESSAGE: Final = "direct_message"
PUBLISH_WITH_ACK: Final = "publish_with_ack"
PUBLISH_TO_ID_WITH_ACK: Final = "publish_to_id_with_ack"
ACK: Final = "ack"
GET_ACK_STATUS: Final = "get_ack_status"
CANCEL_ACK: Final = "cancel_ack"
PUBLISH_TO_SERVER: Final = "publish_to_server"
SERVER_TO_SERVER: Final = "server-to-server"
# -- presence (spec §15): `presence` is also the reply's action.
PRESENCE: Final = "presence"

# Server -> client actions (spec §3-§8). `publish` and `direct_message` are also deliveries.
PONG: Final = "pong"
SUBSCRIBED: Final = "subscribed"
UNSUBSCRIBED: Final = "unsubscribed"
PUBLISHED: Final = "published"
PUBLISH_ACK: Final = "publish_ack"
ACK_RESPONSE: Final = "ack_response"
ACK_PROGRESS: Final = "ack_progress"
ACK_STATUS: Final = "ack_status"
ACK_CANCELLED: Final = "ack_cancelled"
SERVER_MESSAGE_SENT: Final = "server_message_sent"
ERROR: Final = "error"
# -- presence (spec §15.3)
JOIN: Final = "join"
LEAVE: Final = "leave"
#: Most client IDs a `presence` reply lists (spec §15.2); `truncated` says when there were more.
PRESENCE_MAX_IDS: Final = 1000

#: Prefix of the temporary topics that carry direct messages with acknowledgement (spec §6.4).
DIRECT_TOPIC_PREFIX: Final = "__direct_"


class Errors:
    """Error texts sent in `error` frames (spec §7.1). The original's texts are kept verbatim."""

    MISSING_ACTION: Final = "missing or invalid action"
    UNKNOWN_ACTION: Final = "unknown action: {action}"
    NOT_REGISTERED_SUBSCRIBE: Final = "client not registered, send ping first"
    NOT_REGISTERED: Final = "client not registered"
    MISSING_TOPIC: Final = "missing or invalid topic"
    MISSING_TARGET_ID: Final = "missing target ID"
    MISSING_SERVER_ADDRESS: Final = "missing target server address"
    RELAY_FAILED: Final = "failed to relay to server: {reason}"
    MISSING_ACK_DATA: Final = "missing ack data"
    MISSING_ACK_ID: Final = "missing ack_id"
    # ksps additions.
    INVALID_JSON: Final = "invalid JSON: {reason}"
    NOT_AN_OBJECT: Final = "invalid message: expected a JSON object"
    INVALID_MESSAGE: Final = "invalid message: {reason}"
    TOPIC_TOO_LONG: Final = "topic too long (max {limit} bytes)"
    ID_TOO_LONG: Final = "id too long (max {limit} bytes)"
    ACK_ID_TOO_LONG: Final = "ack_id too long (max {limit} bytes)"
    RESERVED_TOPIC: Final = "topic is reserved: {topic}"
    S2S_NOT_ALLOWED: Final = "server-to-server not allowed"
    # -- auth
    #: An operation the connection's identity may not do (spec §10.4), with `code` FORBIDDEN.
    FORBIDDEN: Final = "forbidden: {action} to {target}"
    #: A `ping` for an ID that another identity holds (spec §10.6), with `code` ID_TAKEN.
    ID_TAKEN: Final = "id taken: {id}"
    #: A `rid` longer than the ID limit (spec §11.1): it is not echoed.
    RID_TOO_LONG: Final = "rid too long (max {limit} bytes)"

    # -- peers
    RELAY_NOT_DELIVERED: Final = "failed to relay to server: not delivered"
    RELAY_NOT_ALLOWED: Final = "failed to relay to server: address not allowed"
    RELAY_LIMIT_CLIENT: Final = "too many relays in flight (max {limit} per connection)"
    RELAY_LIMIT_SERVER: Final = "too many relays in flight (max {limit} for the server)"

    # -- limits: connection

    # -- limits: broker
    TOO_MANY_TOPICS: Final = "limit: max_topics_per_connection ({limit}) reached"
    TOO_MANY_PENDING_ACKS: Final = "limit: max_pending_acks_per_connection ({limit}) reached"
    SERVER_PENDING_ACKS: Final = "limit: max_pending_acks ({limit}) reached on this server"

    # -- end of error texts


class CloseCodes:
    """WebSocket close codes the server sends (spec §7.2)."""

    SHUTDOWN: Final = 1000
    RATE_LIMITED: Final = 1008
    TOO_BIG: Final = 1009
    REPLACED: Final = 4001
    SLOW_CONSUMER: Final = 4002
    # -- auth
    UNAUTHORIZED: Final = 4003
    TOKEN_EXPIRED: Final = 4004
    REGISTRATION_TIMEOUT: Final = 4005

    # -- limits: connection
    PROTOCOL_ERROR: Final = 1002

    # -- end


class CloseReasons:
    """Close reason texts matching :class:`CloseCodes`."""

    SHUTDOWN: Final = "server shutdown"
    RATE_LIMITED: Final = "rate limit exceeded"
    TOO_BIG: Final = "message too big"
    REPLACED: Final = "replaced by a newer connection"
    SLOW_CONSUMER: Final = "slow consumer"
    # -- auth
    #: Followed by the detail: bad or missing token, or an ID the identity may not register (spec §10.3).
    UNAUTHORIZED: Final = "unauthorized: {detail}"
    #: The details of UNAUTHORIZED; INVALID_TOKEN is also the body of the HTTP 401 at the upgrade.
    INVALID_TOKEN: Final = "invalid token: {reason}"
    TOKEN_REQUIRED: Final = "token required"
    ID_NOT_ALLOWED: Final = "ID not allowed for this identity"
    OTHER_SUBJECT: Final = "a refreshed token must have the same sub"
    ID_HELD: Final = "ID held by another identity"
    TOKEN_EXPIRED: Final = "token expired"
    REGISTRATION_TIMEOUT: Final = "registration timeout"

    # -- limits: connection
    #: Followed by `: <detail>` on the wire.
    PROTOCOL_ERROR: Final = "protocol error"
    CONTROL_RATE_LIMITED: Final = "control frame rate exceeded"

    # -- end


class ErrorCodes:
    """The `code` member of the error frames added by ksps (spec §11.2)."""

    # -- auth
    FORBIDDEN: Final = "forbidden"
    ID_TAKEN: Final = "id_taken"
    # -- limits
    LIMIT: Final = "limit"
    # -- end


#: Response text of a subscriber that has no callback for the topic (spec §6.1).
NO_SUBSCRIBER: Final = "no subscriber for topic"
#: Response text of an expected responder that disconnected before answering (spec §6.2).
CLIENT_DISCONNECTED: Final = "client disconnected"
