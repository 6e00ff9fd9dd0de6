"""Turns each client frame into a broker verb and a reply (spec §3-§8). Still no I/O."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import msgspec

from ..logs import ThrottledLog
from ..protocol import (
    DecodeError,
    Envelope,
    ErrorCodes,
    Errors,
    Frame,
    decode_ack_payload,
    decode_envelope,
    encode_ack_status,
    encode_error,
    encode_position_reply,
    encode_presence,
    encode_published,
    encode_reply,
)
from ..protocol import actions as act
from .core import Broker
from .federation import FederationConfig, parse_relay_address
from .history import Position
from .history.requests import read_history, subscribe_with_history
from .interfaces import Message, Peer, Relay
from .permissions import Gate
from .presence import MemberList
from .registration import AuthPolicy, Registrar
from .signing import PeerVerifier, SignedFields

__all__ = ["FrameHandler", "Limits"]



@dataclass(frozen=True)
class Limits:
    """Size limits on client-chosen strings (spec §2.4) and on ack timeouts (spec §6.2)."""

    max_topic_bytes: int = 256
    max_id_bytes: int = 256
    max_ack_timeout: float = 300.0


_PUBLISHED = b'{"action":"published","topic":'
_SUBSCRIBED = b'{"action":"subscribed","topic":'
_encode = msgspec.json.encode
#: Topics whose `published` reply frame is kept for reuse.
_REPLY_CACHE_SIZE = 4096


def _limit_error(text: str, to: str, rid: str) -> Frame:
    """An error refused by a limit: `code:"limit"`, the refused frame's `to` and `rid` (spec §11)."""
    return encode_error(text, code=ErrorCodes.LIMIT, to=to, rid=rid)


def _too_long(value: str | None, limit: int) -> bool:
    """Whether `value` has more than `limit` UTF-8 bytes (spec §2.4).

    A character takes at most 4 bytes, so only strings that might be too long are encoded: this runs on
    every frame, and clients send `from` on every frame.
    """
    return value is not None and len(value) * 4 > limit and len(value.encode()) > limit


class FrameHandler:
    """Dispatches decoded frames of registered and unregistered connections to the broker."""

    def __init__(
        self,
        broker: Broker,
        federation: FederationConfig,
        relay: Relay,
        limits: Limits | None = None,
        *,
        auth: AuthPolicy | None = None,
    ) -> None:
        self.broker = broker
        self.federation = federation
        self.relay = relay
        self.limits = limits or Limits()
        self.registrar = Registrar(broker, auth or AuthPolicy())
        #: Permission checks and the `Authorize` hook (spec §10.4).
        self.gate = Gate()
        self._permit = self.gate.permit
        self.on_server_data: list[Callable[[Message], Any]] = []
        self.peer_verifier = PeerVerifier(federation.secret, clock=time.time, window=federation.clock_window)
        self._relays_in_flight: dict[Peer, int] = {}
        self._relays_total = 0
        self._s2s_log = ThrottledLog(call_later=broker.scheduler.call_later)
        self._published: dict[str, Frame] = {}
        self._actions: dict[str, Callable[[Peer, Envelope], None]] = {
            act.SUBSCRIBE: self._subscribe,
            act.UNSUBSCRIBE: self._unsubscribe,
            act.PUBLISH: self._publish,
            act.DIRECT_MESSAGE: self._direct_message,
            act.PUBLISH_WITH_ACK: self._publish_with_ack,
            act.PUBLISH_TO_ID_WITH_ACK: self._publish_to_id_with_ack,
            act.ACK: self._ack,
            act.GET_ACK_STATUS: self._get_ack_status,
            act.CANCEL_ACK: self._cancel_ack,
            act.PUBLISH_TO_SERVER: self._publish_to_server,
            act.HISTORY: self._history,
            act.PRESENCE: self._presence,
        }

    def handle(self, peer: Peer, payload: bytes) -> None:
        """Process one frame from `peer`. Never raises for bad input: errors go back as `error` frames."""
        try:
            envelope = decode_envelope(payload)
        except DecodeError as exc:
            peer.send(encode_error(str(exc)))
            return
        error = self._check_limits(envelope)
        if error:
            # An answer to the frame: its rid goes back (spec §11.1), unless the rid itself is too long.
            rid = envelope.rid or ""
            peer.send(encode_error(error, rid="" if _too_long(rid, self.limits.max_id_bytes) else rid))
            return
        action = envelope.action
        if not action:
            self._error(peer, envelope, Errors.MISSING_ACTION)
        elif action == act.PING:
            self.registrar.ping(peer, envelope)
        elif action == act.SERVER_TO_SERVER:
            self._server_to_server(peer, envelope)
        elif (handler := self._actions.get(action)) is None:
            self._error(peer, envelope, Errors.UNKNOWN_ACTION.format(action=action))
        elif peer.client_id is None:
            text = Errors.NOT_REGISTERED_SUBSCRIBE if action == act.SUBSCRIBE else Errors.NOT_REGISTERED
            self._error(peer, envelope, text)
        else:
            handler(peer, envelope)

    def _check_limits(self, envelope: Envelope) -> str:
        limits = self.limits
        if _too_long(envelope.topic, limits.max_topic_bytes):
            return Errors.TOPIC_TOO_LONG.format(limit=limits.max_topic_bytes)
        if _too_long(envelope.from_, limits.max_id_bytes) or _too_long(envelope.to, limits.max_id_bytes):
            return Errors.ID_TOO_LONG.format(limit=limits.max_id_bytes)
        if _too_long(envelope.ack_id, limits.max_id_bytes):
            return Errors.ACK_ID_TOO_LONG.format(limit=limits.max_id_bytes)
        if envelope.rid is not None and _too_long(envelope.rid, limits.max_id_bytes):
            return Errors.RID_TOO_LONG.format(limit=limits.max_id_bytes)
        return ""

    # -- replies and refusals (spec §7.1, §11) -------------------------------------------------------------

    @staticmethod
    def _error(peer: Peer, envelope: Envelope, text: str) -> None:
        # The frame's `rid` goes back on every error answering it (spec §11.1); without one, the original frame.
        peer.send(encode_error(text, rid=envelope.rid or ""))


    # -- topics (spec §4) ------------------------------------------------------------------------------

    def _topic(self, peer: Peer, envelope: Envelope) -> str:
        topic = envelope.topic
        if not topic:
            self._error(peer, envelope, Errors.MISSING_TOPIC)
            return ""
        return topic

    def _subscribe(self, peer: Peer, envelope: Envelope) -> None:
        if topic := self._topic(peer, envelope):
            if topic.startswith(act.DIRECT_TOPIC_PREFIX):
                self._error(peer, envelope, Errors.RESERVED_TOPIC.format(topic=topic))
                return
            if not self._permit(peer, envelope, peer.access.subscribe.allows(topic), act.SUBSCRIBE, topic):
                return
            if (refusal := self.broker.guard.subscribe(peer, topic, rid=envelope.rid or "")) is not None:  # §13.2
                peer.send(refusal)
                return
            broker = self.broker
            join_leave = envelope.join_leave is True
            history = broker.history
            if history is not None and history.policy(topic) is not None:
                if broker.topics.is_subscribed(topic, peer):
                    broker.add_subscription(topic, peer, join_leave=join_leave)  # the watch flag (spec §15.3)
                # The member joins once really subscribed, after a recovery (spec §14.3, §15.3).
                members = broker.subscriptions(join_leave=join_leave)
                subscribe_with_history(history, members, self.gate, peer, envelope, topic)
                return
            broker.add_subscription(topic, peer, join_leave=join_leave)
            rid = envelope.rid
            if envelope.since is not None:  # nothing to recover from: the application must reload (spec §14.3)
                peer.send(encode_position_reply(act.SUBSCRIBED, topic, None, rid=rid or "", recovered=False))
            elif rid is None:
                peer.send(Frame(_SUBSCRIBED + _encode(topic) + b"}"))
            else:
                peer.send(encode_reply(act.SUBSCRIBED, topic=topic, rid=rid))

    def _unsubscribe(self, peer: Peer, envelope: Envelope) -> None:
        if topic := self._topic(peer, envelope):
            history = self.broker.history
            if history is not None and topic in history.pending:
                history.forget(peer, topic)
            self.broker.remove_subscription(topic, peer)
            peer.send(encode_reply(act.UNSUBSCRIBED, topic=topic, rid=envelope.rid or ""))

    def _presence(self, peer: Peer, envelope: Envelope) -> None:
        # Who may subscribe to a topic may see who does (spec §15.2): the hook is asked about `subscribe`.
        if topic := self._topic(peer, envelope):
            if not self._permit(peer, envelope, peer.access.subscribe.allows(topic), act.SUBSCRIBE, topic):
                return
            rid = envelope.rid or ""

            def reply(members: MemberList) -> None:
                count, ids, truncated = members
                peer.send(encode_presence(topic, count, ids, truncated=truncated, rid=rid))

            self.broker.presence_of(topic, reply)

    def _publish(self, peer: Peer, envelope: Envelope) -> None:
        if topic := self._topic(peer, envelope):
            # Hot path: one attribute read when the connection may publish anywhere and no hook is set.
            if not (peer.access.publish_any and self.gate.authorize is None) and not self._permit(
                peer, envelope, peer.access.publish.allows(topic), act.PUBLISH, topic
            ):
                return
            history = self.broker.history
            if history is not None and history.policy(topic) is not None:
                reply_rid = envelope.rid or ""

                # Called at once by the memory engine (Broker.publish keeps and delivers in one call), after the
                # append's answer by the Redis engine.
                def published(position: Position | None) -> None:  # with its place in the stream (spec §14.2)
                    if position is None:
                        peer.send(encode_position_reply(act.PUBLISHED, topic, None, rid=reply_rid))
                    else:
                        peer.send(encode_published(topic, position[0], position[1], reply_rid))

                self.broker.publish(topic, envelope.raw_data, peer.client_id or "", published)
                return
            self.broker.publish(topic, envelope.raw_data, peer.client_id or "")
            rid = envelope.rid
            if rid is None:
                peer.send(self._published_reply(topic))
            else:
                peer.send(encode_reply(act.PUBLISHED, topic=topic, rid=rid))

    def _history(self, peer: Peer, envelope: Envelope) -> None:
        topic = self._topic(peer, envelope)
        if topic and self._permit(peer, envelope, peer.access.history.allows(topic), act.HISTORY, topic):
            read_history(self.broker.history, peer, envelope, topic)  # spec §14.4

    def _published_reply(self, topic: str) -> Frame:
        # Every publication gets this reply (spec §4.2): reuse the frame of busy topics instead of building it.
        frame = self._published.get(topic)
        if frame is None:
            if len(self._published) >= _REPLY_CACHE_SIZE:
                self._published.clear()
            frame = self._published[topic] = Frame(_PUBLISHED + _encode(topic) + b"}")
        return frame

    def _direct_message(self, peer: Peer, envelope: Envelope) -> None:
        target = envelope.to
        if not target:
            self._error(peer, envelope, Errors.MISSING_TARGET_ID)
            return
        if self._permit(peer, envelope, peer.access.direct.allows(target), act.DIRECT_MESSAGE, target):
            self.broker.publish_to_id(target, envelope.raw_data, peer.client_id or "")

    # -- acknowledgements (spec §6) --------------------------------------------------------------------

    def _ack_timeout(self, envelope: Envelope) -> float | None:
        if envelope.timeout is None:
            return None
        return min(envelope.timeout / 1000.0, self.limits.max_ack_timeout)

    def _client_ack_id(self, peer: Peer, envelope: Envelope) -> str:
        if not envelope.ack_id:
            self._error(peer, envelope, Errors.MISSING_ACK_ID)
            return ""
        return envelope.ack_id

    def _publish_with_ack(self, peer: Peer, envelope: Envelope) -> None:
        topic = self._topic(peer, envelope)
        if not topic or not (client_ack_id := self._client_ack_id(peer, envelope)):
            return
        access = peer.access
        if not self._permit(peer, envelope, access.ack and access.publish.allows(topic), act.PUBLISH_WITH_ACK, topic):
            return
        refusal = self.broker.guard.ack_request(peer, client_ack_id, topic=topic, rid=envelope.rid or "")
        if refusal is not None:
            peer.send(refusal)  # spec §13.2
        else:
            self.broker.publish_with_ack(
                topic,
                envelope.raw_data,
                peer.client_id or "",
                self._ack_timeout(envelope),
                owner=peer,
                client_ack_id=client_ack_id,
                progress=bool(envelope.progress),
            )

    def _publish_to_id_with_ack(self, peer: Peer, envelope: Envelope) -> None:
        target = envelope.to
        if not target:
            self._error(peer, envelope, Errors.MISSING_TARGET_ID)
            return
        if not (client_ack_id := self._client_ack_id(peer, envelope)):
            return
        access = peer.access
        granted = access.ack and access.direct.allows(target)
        if not self._permit(peer, envelope, granted, act.PUBLISH_TO_ID_WITH_ACK, target):
            return
        refusal = self.broker.guard.ack_request(peer, client_ack_id, to=target, rid=envelope.rid or "")
        if refusal is not None:
            peer.send(refusal)  # spec §13.2
        else:
            self.broker.publish_to_id_with_ack(
                target,
                envelope.raw_data,
                peer.client_id or "",
                self._ack_timeout(envelope),
                owner=peer,
                client_ack_id=client_ack_id,
                progress=bool(envelope.progress),
            )

    def _ack(self, peer: Peer, envelope: Envelope) -> None:
        payload = decode_ack_payload(envelope.data)
        if payload is None and not envelope.ack_id:
            self._error(peer, envelope, Errors.MISSING_ACK_DATA)
            return
        ack_id = envelope.ack_id
        if not ack_id and payload is not None and isinstance(payload.ack_id, str):
            ack_id = payload.ack_id
        if not ack_id:
            self._error(peer, envelope, Errors.MISSING_ACK_ID)
            return
        # Success is read only from data.success, as in the original (spec §6.1).
        success = payload is not None and payload.success is True
        error = payload.error if payload is not None and isinstance(payload.error, str) else ""
        self.broker.acknowledge(peer, ack_id, success, error)

    def _get_ack_status(self, peer: Peer, envelope: Envelope) -> None:
        if client_ack_id := self._client_ack_id(peer, envelope):
            acks = self.broker.acks
            request = acks.find(peer, client_ack_id)
            if request is None and (by_server_id := acks.find_server(client_ack_id)) is not None:
                # Only the requester's own requests, also by server ack ID: those are guessable (spec §10.7).
                request = by_server_id if by_server_id.owner is peer else None
            status = request.expected if request is not None else {}
            peer.send(encode_ack_status(client_ack_id, status, rid=envelope.rid or ""))

    def _cancel_ack(self, peer: Peer, envelope: Envelope) -> None:
        if client_ack_id := self._client_ack_id(peer, envelope):
            # Looked up by (connection, client ack ID) only: nobody cancels another's request (spec §10.7).
            request = self.broker.acks.find(peer, client_ack_id)
            if request is not None:
                self.broker.acks.cancel(request)
            peer.send(encode_reply(act.ACK_CANCELLED, ack_id=client_ack_id, rid=envelope.rid or ""))

    # -- server to server (spec §8) --------------------------------------------------------------------

    def _publish_to_server(self, peer: Peer, envelope: Envelope) -> None:
        address = envelope.to
        if not address:
            self._error(peer, envelope, Errors.MISSING_SERVER_ADDRESS)
            return
        if not self._permit(peer, envelope, peer.access.relay, act.PUBLISH_TO_SERVER, address):
            return
        secure = bool(envelope.status and envelope.status.get("is_secure"))
        rid = envelope.rid or ""
        federation = self.federation
        try:
            target = parse_relay_address(address)
        except ValueError as exc:
            self._error(peer, envelope, Errors.RELAY_FAILED.format(reason=exc))
            return
        # Only configured peers (spec §12.2): otherwise any client opens sockets to any host and port.
        if not federation.may_relay_to(target, secure):
            self._error(peer, envelope, Errors.RELAY_NOT_ALLOWED)
            return
        in_flight = self._relays_in_flight.get(peer, 0)
        if in_flight >= federation.max_relays_per_client:
            text = Errors.RELAY_LIMIT_CLIENT.format(limit=federation.max_relays_per_client)
            peer.send(_limit_error(text, address, rid))
            return
        if self._relays_total >= federation.max_relays:
            peer.send(_limit_error(Errors.RELAY_LIMIT_SERVER.format(limit=federation.max_relays), address, rid))
            return
        self._relays_in_flight[peer] = in_flight + 1
        self._relays_total += 1

        def reply(delivered: bool) -> None:
            self._relays_total -= 1
            left = self._relays_in_flight.pop(peer, 1) - 1
            if left:
                self._relays_in_flight[peer] = left
            if delivered:
                peer.send(encode_reply(act.SERVER_MESSAGE_SENT, to=address, rid=rid))
            else:
                peer.send(encode_error(Errors.RELAY_NOT_DELIVERED, rid=rid))

        self.relay.relay(target, envelope.raw_data, federation.origin(peer.client_id or ""), secure, reply)

    def _server_to_server(self, peer: Peer, envelope: Envelope) -> None:
        # Only a signed frame is believed, whoever sends it: no address is trusted (spec §12.1).
        if envelope.ts is None or not envelope.nonce or not envelope.sig:
            refusal = "unsigned frame"
        else:
            fields = SignedFields(
                ts=envelope.ts,
                nonce=envelope.nonce,
                to=envelope.to or "",
                id=envelope.id or "",
                data=bytes(envelope.raw_data),
            )
            refusal = self.peer_verifier.check(fields, envelope.sig)
        if refusal:
            self._s2s_log.warning("s2s", "refused server-to-server from %s: %s", peer.client_address, refusal)
            self._error(peer, envelope, Errors.S2S_NOT_ALLOWED)
            return
        if not self.federation.is_for_me(envelope.to or "", envelope.id or ""):
            self._error(peer, envelope, Errors.UNKNOWN_ACTION.format(action=act.SERVER_TO_SERVER))
            return
        self.deliver_server_data(envelope.raw_data, envelope.from_ or "")
        # The relay waits for this answer: anything else it reads is a refusal (spec §8.2, §8.3).
        peer.send(encode_reply(act.SERVER_MESSAGE_SENT, to=envelope.to or envelope.id or ""))

    def deliver_server_data(self, raw: msgspec.Raw, default_from: str) -> None:
        """Republish `{topic, data}` payloads and call every `OnServerData` handler (spec §8.3)."""
        wrapper = msgspec.json.decode(raw)
        payload: Any = wrapper
        origin = default_from
        if isinstance(wrapper, dict):
            payload = wrapper.get("data")
            if isinstance(wrapper.get("from"), str):
                origin = wrapper["from"]
        if isinstance(payload, dict) and isinstance(payload.get("topic"), str) and payload["topic"]:
            self.broker.publish(payload["topic"], msgspec.Raw(_encode(payload.get("data"))), origin)
        message: Message = {"data": payload, "from": origin}
        for handler in tuple(self.on_server_data):
            self.broker.runner.run(handler, functools.partial(handler, message), None)
