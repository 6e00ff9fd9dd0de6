"""The client's topic subscriptions: one callback per topic, and the `unsubscribe` handles."""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable, Generator
from typing import Any, ClassVar

from ksps._dialect import KspsSpelling

from ._options import Message

__all__ = ["Callback", "Confirmation", "Subscription", "SubscriptionRegistry", "Unsubscriber"]

#: A subscription callback: `callback(message, unsub)`, sync or async. `message` is
#: `{"data": payload, "from": sender}`; `unsub()` ends the subscription (also from inside the callback).
Callback = Callable[[Message, "Unsubscriber"], Awaitable[Any] | Any]


class Confirmation:
    """What `unsub()` returns: awaiting it waits for the server's confirmation; ignoring it is fine too."""

    __slots__ = ("_wait",)

    def __init__(self, wait: Callable[[], Awaitable[Any]] | None) -> None:
        self._wait = wait

    def __await__(self) -> Generator[Any, None, None]:
        if self._wait is not None:
            answer = yield from self._wait().__await__()
            if isinstance(answer, Exception):  # the server refused it (an error frame with its rid)
                raise answer


class Unsubscriber(KspsSpelling):
    """Ends one subscription. Call it (`unsub()`) from sync or async code; `await unsub()` also works.

    The callback stops receiving at once, even for deliveries already on their way; the server is told
    right away when connected. Calling it again, or after the topic was subscribed anew, does nothing.
    """

    KSPS_NAMES: ClassVar[dict[str, str]] = {"Unsubscribe": "unsubscribe"}

    __slots__ = ("_unsubscribe", "subscription")

    def __init__(
        self, subscription: Subscription, unsubscribe: Callable[[Subscription], Confirmation]
    ) -> None:
        self.subscription = subscription
        self._unsubscribe = unsubscribe

    def __call__(self) -> Confirmation:
        return self._unsubscribe(self.subscription)

    def unsubscribe(self) -> Confirmation:
        """Same as calling the handle."""
        return self._unsubscribe(self.subscription)


class Subscription:
    """One topic's callback. `backlog` is not None while deliveries wait behind a running async callback."""

    __slots__ = ("active", "backlog", "callback", "topic", "unsub")

    def __init__(
        self, topic: str, callback: Callback, unsubscribe: Callable[[Subscription], Confirmation]
    ) -> None:
        self.topic = topic
        self.callback = callback
        self.active = True
        self.backlog: deque[tuple[Message, str]] | None = None
        self.unsub = Unsubscriber(self, unsubscribe)


class SubscriptionRegistry:
    """topic -> the current Subscription. Subscribing again replaces the callback, as in the original."""

    __slots__ = ("_by_topic",)

    def __init__(self) -> None:
        self._by_topic: dict[str, Subscription] = {}

    def add(self, subscription: Subscription) -> None:
        """Make `subscription` the topic's current one; the one it replaces stops receiving."""
        old = self._by_topic.get(subscription.topic)
        if old is not None:
            old.active = False
        self._by_topic[subscription.topic] = subscription

    def remove(self, subscription: Subscription) -> bool:
        """Remove `subscription` if it is still current; True when it was."""
        subscription.active = False
        if self._by_topic.get(subscription.topic) is subscription:
            del self._by_topic[subscription.topic]
            return True
        return False

    def remove_topic(self, topic: str) -> bool:
        """Remove the topic's subscription, whichever it is; True when there was one."""
        subscription = self._by_topic.pop(topic, None)
        if subscription is None:
            return False
        subscription.active = False
        return True

    def get(self, topic: str) -> Subscription | None:
        """The topic's current subscription."""
        return self._by_topic.get(topic)

    def topics(self) -> list[str]:
        """Every subscribed topic (restored after each reconnection)."""
        return list(self._by_topic)

    def clear(self) -> None:
        """Forget every subscription (the client is closed)."""
        for subscription in self._by_topic.values():
            subscription.active = False
        self._by_topic.clear()
