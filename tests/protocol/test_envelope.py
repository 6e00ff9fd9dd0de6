"""Decoding client frames, with no sockets (spec §2, §7.1)."""

from __future__ import annotations

import msgspec
import pytest

from ksps.protocol import NULL, AckAnswer, DecodeError, decode_ack_payload, decode_envelope


def test_every_member_is_decoded() -> None:
    envelope = decode_envelope(
        b'{"action":"publish_with_ack","topic":"t","data":{"x":[1,2]},"from":"me","to":"you","id":"i",'
        b'"ack_id":"a","status":{"is_secure":true},"timeout":1500,"progress":true,"ts":7,"nonce":"n","sig":"s"}'
    )
    assert envelope.action == "publish_with_ack"
    assert (envelope.topic, envelope.from_, envelope.to, envelope.id) == ("t", "me", "you", "i")
    assert (envelope.ack_id, envelope.status, envelope.timeout) == ("a", {"is_secure": True}, 1500)
    assert (envelope.progress, envelope.ts, envelope.nonce, envelope.sig) == (True, 7, "n", "s")
    assert bytes(envelope.raw_data) == b'{"x":[1,2]}'


def test_data_stays_raw_and_byte_exact() -> None:
    envelope = decode_envelope(b'{"action":"publish","data":{"n":1.50,"big":123456789012345678901234567890}}')
    assert bytes(envelope.raw_data) == b'{"n":1.50,"big":123456789012345678901234567890}'


@pytest.mark.parametrize("payload", [b'{"action":"publish"}', b'{"action":"publish","data":null}'])
def test_absent_or_null_data_is_json_null(payload: bytes) -> None:
    assert bytes(decode_envelope(payload).raw_data) == b"null"
    assert bytes(NULL) == b"null"


def test_null_members_are_absent_and_unknown_members_ignored() -> None:
    envelope = decode_envelope(b'{"action":"ping","from":null,"to":null,"status":null,"extra":{"a":[1]}}')
    assert envelope.action == "ping"
    assert (envelope.from_, envelope.to, envelope.status) == (None, None, None)


@pytest.mark.parametrize(
    ("payload", "text"),
    [
        (b"", "invalid JSON: empty frame"),
        (b" \n\t", "invalid JSON: empty frame"),
        (b"[]", "invalid message: expected a JSON object"),
        (b'"x"', "invalid message: expected a JSON object"),
        (b"1", "invalid message: expected a JSON object"),
        (b"true", "invalid message: expected a JSON object"),
        (b"null", "invalid message: expected a JSON object"),
    ],
)
def test_decode_errors_with_exact_texts(payload: bytes, text: str) -> None:
    with pytest.raises(DecodeError) as error:
        decode_envelope(payload)
    assert str(error.value) == text


@pytest.mark.parametrize(
    ("payload", "prefix"),
    [
        (b"{", "invalid JSON: "),
        (b'{"action":"a"}x', "invalid JSON: "),
        (b'{"action":"\xff"}', "invalid JSON: "),
        (b"{'a':1}", "invalid JSON: "),
        (b'{"action":1}', "invalid message: "),
        (b'{"action":"a","topic":5}', "invalid message: "),
        (b'{"action":"a","status":{"is_secure":"yes"}}', "invalid message: "),
        (b'{"action":"a","status":[]}', "invalid message: "),
        (b'{"action":"a","timeout":"x"}', "invalid message: "),
        (b'{"action":"a","timeout":-1}', "invalid message: "),
        (b'{"action":"a","progress":1}', "invalid message: "),
        (b'{"action":"a","ack_id":["x"]}', "invalid message: "),
    ],
)
def test_decode_errors_with_a_reason(payload: bytes, prefix: str) -> None:
    with pytest.raises(DecodeError) as error:
        decode_envelope(payload)
    text = str(error.value)
    assert text.startswith(prefix) and len(text) > len(prefix), text
    assert text != "invalid message: expected a JSON object"


def test_wrong_member_type_names_the_member() -> None:
    with pytest.raises(DecodeError, match=r"\$\.topic"):
        decode_envelope(b'{"action":"a","topic":5}')


def test_ack_payload() -> None:
    payload = decode_ack_payload(msgspec.Raw(b'{"ack_id":"s1","client_id":"c","success":true,"error":"e"}'))
    assert payload is not None
    assert (payload.ack_id, payload.success, payload.error) == ("s1", True, "e")
    # Wrong types read as they are; the handler decides what they mean (spec §6.1).
    odd = decode_ack_payload(msgspec.Raw(b'{"ack_id":5,"success":"yes"}'))
    assert odd is not None and (odd.ack_id, odd.success) == (5, "yes")
    for not_an_object in (b"[]", b'"s"', b"null", b""):
        assert decode_ack_payload(msgspec.Raw(not_an_object)) is None


def test_ack_response_wire_shape() -> None:
    assert AckAnswer("s1", "c", True).to_dict() == {"ack_id": "s1", "client_id": "c", "success": True}
    assert AckAnswer("s1", "c", False, "boom").to_dict() == {
        "ack_id": "s1",
        "client_id": "c",
        "success": False,
        "error": "boom",
    }
    assert msgspec.json.encode(AckAnswer("s1", "c", True)) == b'{"ack_id":"s1","client_id":"c","success":true}'
