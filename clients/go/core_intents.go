package ksps

import (
	"fmt"
	"strconv"
)

// The application's intents in the session core: subscriptions, publications and the offline
// queue that keeps publications made while no connection is ready.

// orderedTopics is the subscription registry: topic -> the handle of its subscribe intent not
// yet confirmed ("" once confirmed), in the order the topics were first subscribed.
type orderedTopics struct {
	order   []string
	handles map[string]string
}

func newOrderedTopics() orderedTopics { return orderedTopics{handles: make(map[string]string)} }

func (t *orderedTopics) has(topic string) bool { _, ok := t.handles[topic]; return ok }

func (t *orderedTopics) set(topic, handle string) {
	if !t.has(topic) {
		t.order = append(t.order, topic)
	}
	t.handles[topic] = handle
}

func (t *orderedTopics) remove(topic string) {
	if !t.has(topic) {
		return
	}
	delete(t.handles, topic)
	for i, known := range t.order {
		if known == topic {
			t.order = append(t.order[:i:i], t.order[i+1:]...)
			return
		}
	}
}

// request is one frame sent with a rid whose reply is awaited (spec §11.1).
type request struct {
	rid    string
	kind   requestKind
	key    string // the topic or the ack ID
	handle string // the intent's handle; "" for a restored subscription without one
	// recovering: a subscribe frame that carried since (spec §14.3)
	recovering bool
}

type requestKind int

const (
	requestPing        requestKind = iota // registration (spec §3.1)
	requestRefresh                        // a token refreshed in place (§10.5)
	requestSubscribe                      // the application's subscribe
	requestRestore                        // a subscribe sent again after a (re)connection
	requestUnsubscribe                    // the application's unsubscribe
	requestStatus                         // get_ack_status (§6.5)
	requestPresence                       // presence (§15.2)
	requestHistory                        // history (§14.4)
)

// requestBook holds the requests of the current connection in the order they were sent. Request
// IDs are decimal strings from one counter for the life of the client. A reply from a server
// that does not echo rid (the original KSPS) is matched to the oldest request of its kind and
// key: the server answers a connection's frames in order (spec §4.3).
type requestBook struct {
	next    uint64
	pending []*request
}

func newRequestBook() requestBook { return requestBook{} }

func (b *requestBook) add(kind requestKind, key, handle string) *request {
	b.next++
	req := &request{rid: strconv.FormatUint(b.next, 10), kind: kind, key: key, handle: handle}
	b.pending = append(b.pending, req)
	return req
}

// take removes the request a reply answers: by rid, else the oldest of kinds for key.
func (b *requestBook) take(rid string, key string, kinds ...requestKind) *request {
	for i, req := range b.pending {
		var match bool
		if rid != "" {
			match = req.rid == rid
		} else {
			match = req.key == key
		}
		if !match {
			continue
		}
		for _, kind := range kinds {
			if req.kind == kind {
				b.pending = append(b.pending[:i:i], b.pending[i+1:]...)
				return req
			}
		}
		if rid != "" {
			return nil
		}
	}
	return nil
}

// takeRID removes the request sent with rid, whatever its kind (an error reply).
func (b *requestBook) takeRID(rid string) *request {
	if rid == "" {
		return nil
	}
	for i, req := range b.pending {
		if req.rid == rid {
			b.pending = append(b.pending[:i:i], b.pending[i+1:]...)
			return req
		}
	}
	return nil
}

func (b *requestBook) hasKind(kind requestKind) bool {
	for _, req := range b.pending {
		if req.kind == kind {
			return true
		}
	}
	return false
}

// takeAll removes every pending request (the connection is gone).
func (b *requestBook) takeAll() []*request {
	pending := b.pending
	b.pending = nil
	return pending
}

// subscribe records a subscription and asks the server when registered; subscribed or refused
// with handle follows once the server answered (after the next registration when offline).
// joinLeave also asks for the topic's join/leave events, on this and every restored
// subscription (spec §15.3). since, when not nil, becomes the topic's position and goes with
// this subscribe (the server replays what follows it, spec §14.3); without it an explicit
// subscribe sends none, even when a position is remembered: a publication in flight would come
// twice.
func (s *session) subscribe(now int64, topic, handle string, joinLeave bool, since *StreamPosition) []output {
	if s.state == stateClosed {
		return []output{refusedEvent(handle, errClientClosed, "", s.stopped)}
	}
	s.topics.set(topic, handle)
	var wireSince *wirePosition
	if since != nil {
		s.positions[topic] = *since
		wireSince = s.sinceOf(topic)
	}
	if joinLeave {
		s.joinLeave[topic] = true
	} else {
		delete(s.joinLeave, topic)
	}
	if !s.registered() {
		return nil
	}
	req := s.requests.add(requestSubscribe, topic, handle)
	req.recovering = wireSince != nil
	return []output{sendFrame(&envelope{Action: actionSubscribe, Topic: topic, From: s.cfg.id, RID: req.rid,
		JoinLeave: joinLeave, Since: wireSince})}
}

// presence asks who subscribes to topic (spec §15.2): a presence event with handle answers, or
// refused with the server's error; refused with NotConnected at once when not registered
// (nothing is queued: the answer would be stale), or when the connection is lost first.
func (s *session) presence(now int64, topic, handle string) []output {
	if s.state == stateClosed {
		return []output{refusedEvent(handle, errClientClosed, "", s.stopped)}
	}
	if !s.registered() {
		offline := fmt.Errorf("%w: presence needs a connection to the server", ErrNotConnected)
		return []output{refusedEvent(handle, errNotConnected, "", offline)}
	}
	req := s.requests.add(requestPresence, topic, handle)
	return []output{sendFrame(&envelope{Action: actionPresence, Topic: topic, From: s.cfg.id, RID: req.rid})}
}

// unsubscribe forgets a topic; unsubscribed with handle once the server confirmed (at once
// when offline).
func (s *session) unsubscribe(now int64, topic, handle string) []output {
	delete(s.joinLeave, topic)
	delete(s.positions, topic) // the next subscription starts from the live stream
	if s.topics.has(topic) && s.registered() {
		s.topics.remove(topic)
		req := s.requests.add(requestUnsubscribe, topic, handle)
		return []output{sendFrame(&envelope{Action: actionUnsubscribe, Topic: topic, From: s.cfg.id, RID: req.rid})}
	}
	s.topics.remove(topic)
	return []output{emit(&event{Type: evUnsubscribed, Handle: handle})}
}

// publish sends a publication (publish, direct_message, publish_to_server; frame complete but
// for From) at once when ready, else queues it. After the end it returns why.
func (s *session) publish(now int64, frame *envelope) ([]output, error) {
	frame.From = s.cfg.id
	if s.state == stateReady {
		return []output{sendFrame(frame)}, nil
	}
	if s.state == stateClosed {
		return nil, s.stopped
	}
	return s.enqueue(frame, "")
}

// queuedFrame is a publication waiting for the next ready connection; handle names its ack
// request, if any.
type queuedFrame struct {
	frame  *envelope
	handle string
}

// enqueue keeps a frame for the next connection. When the queue is full the policy picks the
// frame that is lost (the oldest, or the new one) and reports it; a dropped request with ack
// ends. The error is ErrOfflineQueueFull when the new frame itself was refused or dropped.
func (s *session) enqueue(frame *envelope, handle string) ([]output, error) {
	if s.cfg.offlineQueueSize < 0 {
		return nil, fmt.Errorf("%w: the offline queue is disabled", ErrNotConnected)
	}
	if len(s.offline) < s.cfg.offlineQueueSize {
		s.offline = append(s.offline, queuedFrame{frame: frame, handle: handle})
		return nil, nil
	}
	dropped := queuedFrame{frame: frame, handle: handle}
	if s.cfg.overflow == OverflowDropOldest && s.cfg.offlineQueueSize > 0 {
		dropped = s.offline[0]
		s.offline = append(s.offline[1:], queuedFrame{frame: frame, handle: handle})
	}
	err := fmt.Errorf("%w: dropped a publication to %s", ErrOfflineQueueFull, frameTarget(dropped.frame))
	out := []output{emit(&event{Type: evQueueOverflow, Dropped: dropped.frame, Err: err})}
	if a := s.acks.byHandle[dropped.handle]; dropped.handle != "" && a != nil {
		out = append(out, s.endAck(a, ackAborted, ErrOfflineQueueFull)...)
	}
	if dropped.frame != frame {
		return out, nil
	}
	if s.cfg.overflow == OverflowReject {
		return out, fmt.Errorf("%w (%d publications waiting); not sent", ErrOfflineQueueFull, len(s.offline))
	}
	return out, nil
}

// frameTarget names where a frame goes, for error messages.
func frameTarget(e *envelope) string {
	if e.Topic != "" {
		return "topic " + e.Topic
	}
	return "ID " + e.To
}

// answer acknowledges a delivery that carried the server's ack_id once its callback finished
// (spec §6.1).
func (s *session) answer(now int64, serverAckID string, success bool, failure string) []output {
	if !s.registered() {
		return nil
	}
	return []output{sendFrame(s.ackFrame(serverAckID, success, failure))}
}

func (s *session) ackFrame(serverAckID string, success bool, failure string) *envelope {
	data, _ := encodeData(AckResponse{AckID: serverAckID, ClientID: s.cfg.id, Success: success, Error: failure})
	return &envelope{Action: actionAck, AckID: serverAckID, From: s.cfg.id, Data: data}
}
