"""Tracking of publications with acknowledgement (spec §6): who must answer, who did, and when to stop."""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Callable, Iterable, Iterator

from ..protocol import AckAnswer
from ..protocol.actions import CLIENT_DISCONNECTED
from .interfaces import Cancellable, Peer, Scheduler

__all__ = ["AckRequest", "AckTracker"]

#: Requests answered or ended per turn of the event loop after clients left: a few milliseconds of work.
_LEAVE_SLICE = 256
#: The deadline sweep runs at most this often (seconds): a request may end up to this much after its timeout,
#: never before it (spec §6.2). It bounds the wake-ups when many deadlines are close together.
_SWEEP_GRANULARITY = 0.005
#: The deadline heap is rebuilt from the pending requests when it holds more than twice as many entries plus
#: this many: finished requests leave their entry behind (removing it would cost a heap search).
_HEAP_SLACK = 64

#: Called on every response as it arrives (with it) and once when the request ends (with None).
AckListener = Callable[["AckRequest", "AckAnswer | None"], None]


class AckRequest:
    """One publication with acknowledgement, from a client (`owner`) or from the server API (no owner)."""

    __slots__ = (
        "_listeners",
        "awaiting_nodes",
        "cancelled",
        "client_ack_id",
        "deadline",
        "expected",
        "finished",
        "nodes_known",
        "owner",
        "progress",
        "responses",
        "server_ack_id",
    )

    def __init__(
        self, server_ack_id: str, expected: Iterable[str], owner: Peer | None, client_ack_id: str, progress: bool
    ) -> None:
        self.server_ack_id = server_ack_id
        #: responder ID -> answered yet (the `status` of spec §6.5).
        self.expected: dict[str, bool] = dict.fromkeys(expected, False)
        #: responder ID -> response, in arrival order; kept after the request ends (spec §9.3).
        self.responses: dict[str, AckAnswer] = {}
        self.owner = owner
        self.client_ack_id = client_ack_id
        self.progress = progress
        self.finished = False
        self.cancelled = False
        #: Cluster nodes that heard the request minus those that said whom to expect (spec/cluster.md §4).
        #: May dip below zero when a node's report overtakes the count of nodes that heard.
        self.awaiting_nodes = 0
        #: False until the backplane said how many nodes heard the request.
        self.nodes_known = True
        #: When the request times out, on the scheduler's clock (set by `AckTracker.open`).
        self.deadline = 0.0
        self._listeners: list[AckListener] = []

    @property
    def complete(self) -> bool:
        """True when every expected responder answered; vacuously true with none."""
        return self.nodes_known and self.awaiting_nodes == 0 and len(self.responses) == len(self.expected)

    def listen(self, listener: AckListener) -> None:
        """Call `listener` on each response and once at the end (at once if already finished)."""
        if self.finished:
            listener(self, None)
        else:
            self._listeners.append(listener)

    def _notify(self, response: AckAnswer | None) -> None:
        for listener in tuple(self._listeners):
            listener(self, response)


class AckTracker:
    """All pending ack requests of one broker, indexed by server ack ID, by owner and by responder.

    Timeouts cost no timer per request: the deadlines are kept in one heap, and one scheduled sweep (at the
    earliest deadline, at most every `_SWEEP_GRANULARITY` seconds) ends the requests whose time is up. A request
    that ends earlier leaves its heap entry, skipped by the sweep; the heap is compacted when such entries
    outnumber the pending requests.
    """

    def __init__(self, scheduler: Scheduler) -> None:
        self._scheduler = scheduler
        self._by_server_id: dict[str, AckRequest] = {}
        #: owner -> its client ack ID -> request: a disconnect costs what that client owns (spec §13.2).
        self._by_owner: dict[Peer, dict[str, AckRequest]] = {}
        #: responder -> the requests still waiting for it: a responder leaving costs what waits for it.
        self._by_responder: dict[str, set[AckRequest]] = {}
        #: Work left by clients that left (see `_leave`), and the scheduled next slice of it.
        self._left: deque[tuple[str | None, Iterator[AckRequest]]] = deque()
        self._left_drain: Cancellable | None = None
        #: (deadline, sequence, request) of every pending request and of some finished ones (see `_sweep`).
        self._deadlines: list[tuple[float, int, AckRequest]] = []
        self._sequence = itertools.count()
        #: The scheduled sweep and when it runs; the sweep stays armed when nothing is pending and then just
        #: stops, so a steady stream of requests costs no timer each.
        self._sweep_timer: Cancellable | None = None
        self._sweep_at = 0.0
        #: Requests opened, ended with every answer in, and ended by their timeout, since the start.
        self.opened = 0
        self.completed = 0
        self.timed_out = 0

    def __len__(self) -> int:
        return len(self._by_server_id)

    def owned(self, owner: Peer) -> int:
        """How many pending requests `owner` opened."""
        return len(self._by_owner.get(owner, ()))

    def waiting_for(self, responder: str) -> int:
        """How many pending requests still wait for an answer of `responder`."""
        return len(self._by_responder.get(responder, ()))

    def open(
        self,
        server_ack_id: str,
        expected: Iterable[str],
        *,
        timeout: float,
        owner: Peer | None = None,
        client_ack_id: str = "",
        progress: bool = False,
        listener: AckListener | None = None,
        clustered: bool = False,
    ) -> AckRequest:
        """Start tracking a request; it ends by itself when complete or after `timeout` seconds.

        A `clustered` request also waits for `nodes_heard` and for each of those nodes' `add_expected`.
        """
        request = AckRequest(server_ack_id, expected, owner, client_ack_id, progress)
        request.nodes_known = not clustered
        self.opened += 1
        if listener is not None:
            request._listeners.append(listener)
        if request.complete:
            self._end(request)
            return request
        self._by_server_id[server_ack_id] = request
        if owner is not None:
            owned = self._by_owner.get(owner)
            if owned is None:
                owned = self._by_owner[owner] = {}
            else:
                previous = owned.get(client_ack_id)
                if previous is not None:  # a client reusing a pending ack ID replaces the older request
                    self.cancel(previous)
                    owned = self._by_owner.setdefault(owner, owned)  # cancel() drops an emptied index
            owned[client_ack_id] = request
        by_responder = self._by_responder
        for responder in request.expected:
            waiting = by_responder.get(responder)
            if waiting is None:
                by_responder[responder] = {request}
            else:
                waiting.add(request)
        self._add_deadline(request, self._scheduler.time() + timeout)
        return request

    def respond(self, server_ack_id: str, response: AckAnswer) -> None:
        """Record one answer; answers from unexpected or repeated responders are ignored (spec §9.16)."""
        request = self._by_server_id.get(server_ack_id)
        if request is None:
            return
        if request.expected.get(response.client_id, True):
            return
        self._forget_responder(request, response.client_id)
        self._record(request, response)

    def _record(self, request: AckRequest, response: AckAnswer) -> None:
        responder = response.client_id
        request.expected[responder] = True
        request.responses[responder] = response
        request._notify(response)
        if request.complete:
            self._end(request)

    def add_expected(self, server_ack_id: str, responders: Iterable[str]) -> None:
        """One node that heard the request reported whom it will forward answers of (spec/cluster.md §4)."""
        request = self._by_server_id.get(server_ack_id)
        if request is None:
            return
        for responder in responders:
            if responder not in request.expected:
                request.expected[responder] = False
                self._by_responder.setdefault(responder, set()).add(request)
        request.awaiting_nodes -= 1
        if request.complete:
            self._end(request)

    def nodes_heard(self, server_ack_id: str, nodes: int) -> None:
        """The backplane says how many nodes (this one included, if it heard) received the request."""
        request = self._by_server_id.get(server_ack_id)
        if request is None:
            return
        request.awaiting_nodes += nodes
        request.nodes_known = True
        if request.complete:
            self._end(request)

    def responder_gone(self, responder: str) -> None:
        """A responder disconnected: it answers `success:false, client disconnected` (spec §9.14).

        Costs O(requests waiting for it), found through the responder index, done a slice per turn of the
        event loop (see `_leave`).
        """
        waiting = self._by_responder.pop(responder, None)
        if waiting:
            self._leave(responder, tuple(waiting))

    def owner_gone(self, owner: Peer) -> None:
        """The client that asked disconnected: its requests end without a response to send.

        Costs O(requests of `owner`), whatever the other clients hold (spec §13.2); they are cancelled at
        once and forgotten a slice per turn of the event loop (see `_leave`).
        """
        requests = tuple(self._by_owner.pop(owner, {}).values())
        for request in requests:
            request.cancelled = True
        if requests:
            self._leave(None, requests)

    def _leave(self, responder: str | None, requests: tuple[AckRequest, ...]) -> None:
        """Queue what a client leaving left to do: answer for `responder`, or end its own requests (None).

        At most `_LEAVE_SLICE` requests are handled per turn of the event loop, however many clients leave
        together, so that silent responders or big requesters leaving never stall the others (spec §13.2).
        """
        self._left.append((responder, iter(requests)))
        if self._left_drain is None:
            self._drain_left()

    def _drain_left(self) -> None:
        self._left_drain = None
        budget = _LEAVE_SLICE
        while self._left and budget:
            responder, requests = self._left[0]
            for request in itertools.islice(requests, budget):
                budget -= 1
                if request.finished:
                    continue
                if responder is None:
                    self._end(request)
                elif request.expected.get(responder) is False:
                    server_ack_id = request.server_ack_id
                    self._record(request, AckAnswer(server_ack_id, responder, False, CLIENT_DISCONNECTED))
            if budget:  # that client's work is done
                self._left.popleft()
        if self._left:
            self._left_drain = self._scheduler.call_later(0, self._drain_left)

    def find(self, owner: Peer, client_ack_id: str) -> AckRequest | None:
        """The pending request `owner` opened with `client_ack_id` (spec §6.5, §9.2)."""
        owned = self._by_owner.get(owner)
        return owned.get(client_ack_id) if owned is not None else None

    def find_server(self, server_ack_id: str) -> AckRequest | None:
        """The pending request with this server ack ID."""
        return self._by_server_id.get(server_ack_id)

    def cancel(self, request: AckRequest) -> None:
        """End a request now; listeners learn it through `request.cancelled`."""
        if not request.finished:
            request.cancelled = True
            self._end(request)

    def cancel_all(self) -> None:
        """End every pending request (server shutdown)."""
        for request in tuple(self._by_server_id.values()):
            self._end(request)
        self._deadlines.clear()
        if self._sweep_timer is not None:
            self._sweep_timer.cancel()
            self._sweep_timer = None
        self._left.clear()
        if self._left_drain is not None:
            self._left_drain.cancel()
            self._left_drain = None

    # -- deadlines: one heap, one sweep ------------------------------------------------------------------

    def _add_deadline(self, request: AckRequest, deadline: float) -> None:
        request.deadline = deadline
        heap = self._deadlines
        if len(heap) > 2 * len(self._by_server_id) + _HEAP_SLACK:
            self._compact()
        heapq.heappush(heap, (deadline, next(self._sequence), request))
        if self._sweep_timer is None:
            self._arm(deadline)
        elif deadline < self._sweep_at:  # a shorter timeout than any pending: sweep earlier
            self._sweep_timer.cancel()
            self._arm(deadline)

    def _arm(self, when: float) -> None:
        now = self._scheduler.time()
        when = max(when, now)
        self._sweep_at = when
        self._sweep_timer = self._scheduler.call_later(when - now, self._sweep)

    def _compact(self) -> None:
        """Drop the entries of finished requests: keeps the heap within twice the pending requests."""
        heap = [entry for entry in self._deadlines if not entry[2].finished]
        heapq.heapify(heap)
        self._deadlines = heap

    def _sweep(self) -> None:
        """End every request whose deadline passed (spec §6.2), then sleep until the next deadline."""
        self._sweep_timer = None
        heap = self._deadlines
        now = self._scheduler.time()
        while heap and heap[0][0] <= now:
            request = heapq.heappop(heap)[2]
            if not request.finished:
                self.timed_out += 1
                self._end(request)
        while heap and heap[0][2].finished:  # no wake-up for what already ended
            heapq.heappop(heap)
        if heap:
            self._arm(max(heap[0][0], now + _SWEEP_GRANULARITY))

    def _end(self, request: AckRequest) -> None:
        if request.finished:
            return
        request.finished = True
        if request.complete:
            self.completed += 1
        by_server_id = self._by_server_id
        by_server_id.pop(request.server_ack_id, None)
        if not by_server_id:
            self._deadlines.clear()  # every entry left is a finished request's
        if request.owner is not None:
            owned = self._by_owner.get(request.owner)
            if owned is not None and owned.get(request.client_ack_id) is request:
                del owned[request.client_ack_id]
                if not owned:
                    del self._by_owner[request.owner]
        for responder, answered in request.expected.items():
            if not answered:
                self._forget_responder(request, responder)
        request._notify(None)
        request._listeners.clear()

    def _forget_responder(self, request: AckRequest, responder: str) -> None:
        waiting = self._by_responder.get(responder)
        if waiting is not None:
            waiting.discard(request)
            if not waiting:
                del self._by_responder[responder]
