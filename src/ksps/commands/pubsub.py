"""`ksps pub TOPIC DATA` publishes once (optionally with acknowledgement); `ksps sub TOPIC...` prints deliveries.

`sub` writes one JSON line per delivery, ``{"topic", "from", "data"}``, to stdout, and its status lines
(``subscribed to ...``, lost connections) to stderr, so stdout can be piped into `jq` and the like.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
from typing import Any

import msgspec

from ..protocol import decode_json_or_text
from . import _signals
from ._target import EXIT_FAILED, EXIT_USAGE, CommandFailed, Target, add_target_options, connected, fail

__all__ = ["add_pub", "add_sub"]




# -- pub -------------------------------------------------------------------------------------------------


def add_pub(subparsers: Any) -> None:
    """Add `ksps pub`."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "pub",
        help="publish one message to a topic",
        description="Publish DATA to TOPIC. DATA is sent as JSON when it parses as JSON (42, true, "
        '\'{"a": 1}\', \'"text"\'), else as a string. With --ack, wait for the subscribers\' '
        "acknowledgements and print each one as a JSON line; the exit code is 1 when one of them failed or the "
        "server refused the publication (a plain publish is not answered, so only --ack sees a refusal).",
    )
    parser.add_argument("topic", metavar="TOPIC")
    parser.add_argument("data", metavar="DATA")
    parser.add_argument("--ack", action="store_true", help="publish with acknowledgement (spec §6) (default: off)")
    parser.add_argument(
        "--timeout", type=float, default=5.0, help="seconds to wait for acknowledgements, with --ack (default: 5)"
    )
    add_target_options(parser)
    parser.set_defaults(run=_run_pub)


def _run_pub(args: argparse.Namespace) -> int:
    if not 0 <= args.timeout < math.inf:
        return fail("pub", CommandFailed("--timeout must be a number of seconds >= 0", code=EXIT_USAGE))
    return _signals.run(_pub(args))


async def _pub(args: argparse.Namespace) -> int:
    try:
        target = Target.from_args(args)
        async with connected(target) as client:
            data = decode_json_or_text(args.data)
            if not args.ack:
                await client.Publish(args.topic, data)
                return 0
            handle = await client.PublishWithAck(args.topic, data, args.timeout)
            responses = await handle.Wait()
    except (CommandFailed, msgspec.MsgspecError) as exc:
        return fail("pub", exc)
    except (ValueError, TypeError) as exc:  # e.g. an empty or reserved topic
        return fail("pub", CommandFailed(str(exc), code=EXIT_USAGE))
    except Exception as exc:  # a KspsError (refused publish); anything else is a bug and is re-raised
        return fail("pub", exc)
    for response in responses.values():
        sys.stdout.write(json.dumps(response, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    if not responses:
        print(f"ksps pub: no subscriber acknowledged within {args.timeout:g} s", file=sys.stderr)
    return EXIT_FAILED if any(not response.get("success") for response in responses.values()) else 0


# -- sub -------------------------------------------------------------------------------------------------


def add_sub(subparsers: Any) -> None:
    """Add `ksps sub`."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sub",
        help="print the messages published to topics",
        description='Subscribe to each TOPIC and print every delivery as one JSON line {"topic", "from", "data"} '
        "on stdout until Ctrl+C or SIGTERM (exit code 0), or --count deliveries. Status lines go to stderr. "
        "A lost connection is re-established and the topics subscribed again.",
    )
    parser.add_argument("topics", metavar="TOPIC", nargs="+")
    parser.add_argument("--count", type=int, default=0, help="exit after this many deliveries (default: 0, never)")
    add_target_options(parser)
    parser.set_defaults(run=_run_sub)


def _run_sub(args: argparse.Namespace) -> int:
    if args.count < 0:
        return fail("sub", CommandFailed("--count must be >= 0", code=EXIT_USAGE))
    return _signals.run(_sub(args))


class _Printer:
    """Writes deliveries as JSON lines and sets `done` after `count` of them (0: never) or a closed stdout."""

    def __init__(self, count: int) -> None:
        self.count = count
        self.printed = 0
        self.done = asyncio.Event()
        self._out = sys.stdout.buffer
        self._encoder = msgspec.json.Encoder()

    def callback(self, topic: str) -> Any:
        def on_message(message: dict[str, Any], unsub: Any) -> None:
            if self.done.is_set():
                return
            line = {"topic": topic, "from": message.get("from", ""), "data": message.get("data")}
            try:
                self._out.write(self._encoder.encode(line) + b"\n")
                self._out.flush()
            except BrokenPipeError:  # `ksps sub t | head -1`: the reader is gone, stop quietly
                self.done.set()
                return
            self.printed += 1
            if self.count and self.printed >= self.count:
                self.done.set()

        return on_message


class _Status:
    """The status lines of `ksps sub` on stderr, and what ended the connection for good."""

    def __init__(self, topics: list[str]) -> None:
        self.topics = ", ".join(topics)
        self.connections = 0
        self.closing = False
        self.errors: list[BaseException] = []

    def hooks(self) -> dict[str, Any]:
        """The client hooks that report here."""
        return {"on_connect": self.on_connect, "on_disconnect": self.on_disconnect, "on_error": self.errors.append}

    def on_connect(self) -> None:
        self.connections += 1
        if self.connections > 1:  # the client restored the subscriptions before calling OnConnect
            _status(f"reconnected, subscribed to {self.topics}")

    def on_disconnect(self, code: int | None, reason: str) -> None:
        if not self.closing:  # not our own Close
            # 4001 (replaced), 4003/4004 (credentials) end the client for good (spec §3.3, §10).
            then = "" if code in (4001, 4003, 4004) else ", reconnecting"
            _status(f"connection lost ({code} {reason}){then}")


def _status(text: str) -> None:
    print(f"ksps sub: {text}", file=sys.stderr, flush=True)


async def _sub(args: argparse.Namespace) -> int:
    printer = _Printer(args.count)
    _signals.on_stop_signals(printer.done.set)
    status = _Status(args.topics)
    try:
        target = Target.from_args(args)
        async with connected(target, **status.hooks()) as client:
            try:
                for topic in args.topics:
                    await client.Subscribe(topic, printer.callback(topic))
                _status(f"subscribed to {status.topics} on {target.url} as {client.Id}")
                closed = asyncio.ensure_future(client.wait_closed())
                stopped = asyncio.ensure_future(printer.done.wait())
                await asyncio.wait((closed, stopped), return_when=asyncio.FIRST_COMPLETED)
                closed.cancel()
                stopped.cancel()
            finally:
                status.closing = True
            if not printer.done.is_set():
                why = f": {status.errors[-1]}" if status.errors else ""
                raise CommandFailed(f"the connection was closed for good{why}", code=EXIT_FAILED)
    except (ValueError, TypeError) as exc:  # an empty or reserved topic
        return fail("sub", CommandFailed(str(exc), code=EXIT_USAGE))
    except Exception as exc:  # CommandFailed, a refused Subscribe; anything else is a bug and is re-raised
        return fail("sub", exc)
    return 0
