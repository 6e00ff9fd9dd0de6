package ksps

import "fmt"

// The application's intents in the session core: subscriptions and publications, and the
// offline queue that keeps publications made while no connection is usable.

// pendingRequest is a request sent with a rid whose answer is awaited (spec §11).
type pendingRequest struct {
	kind   requestKind
	topic  string
	handle string
}

type requestKind int

const (
	requestRegister    requestKind = iota // the registration ping (spec §3.1)
	requestRestore                        // a subscribe sent again after a (re)connection
	requestSubscribe                      // the application's Subscribe
	requestUnsubscribe                    // the application's Unsubscribe
	requestRefresh                        // a ping refreshing the token in place (spec §10)
)

// queuedFrame is a publication waiting for the next connection; ackID names its ack request.
type queuedFrame struct {
	frame *envelope
	ackID string
}

// subscribe records topic in the registry, restored on every connection, and sends it now
// when a registered connection exists. sent tells that an answer (subscribed or refused, with
// handle) will come on this connection; offline there is none to wait for.
func (s *session) subscribe(topic, handle string) (out []output, sent bool, err error) {
	if s.stopped != nil {
		return nil, false, s.stopped
	}
	s.topics[topic] = true
	return s.request(requestSubscribe, actionSubscribe, topic, handle)
}

// unsubscribe removes topic from the registry and tells the server when connected.
func (s *session) unsubscribe(topic, handle string) (out []output, sent bool, err error) {
	if s.stopped != nil {
		return nil, false, s.stopped
	}
	delete(s.topics, topic)
	return s.request(requestUnsubscribe, actionUnsubscribe, topic, handle)
}

func (s *session) request(kind requestKind, action, topic, handle string) ([]output, bool, error) {
	if !s.linkUp() {
		return nil, false, nil // registration restores the registry's state
	}
	rid := s.newRID()
	s.requests[rid] = pendingRequest{kind: kind, topic: topic, handle: handle}
	return []output{sendFrame(&envelope{Action: action, Topic: topic, From: s.cfg.id, RID: rid})}, true, nil
}

// publish sends a publication (publish, direct_message, publish_to_server) now when connected,
// or keeps it in the offline queue. frame is complete but for From.
func (s *session) publish(frame *envelope) ([]output, error) {
	frame.From = s.cfg.id
	return s.sendOrQueue(queuedFrame{frame: frame})
}

func (s *session) sendOrQueue(item queuedFrame) ([]output, error) {
	if s.stopped != nil {
		return nil, s.stopped
	}
	if s.state == stateConnected {
		return []output{sendFrame(item.frame)}, nil
	}
	if s.cfg.offlineQueueSize < 0 {
		return nil, ErrNotConnected
	}
	if len(s.offline) < s.cfg.offlineQueueSize {
		s.offline = append(s.offline, item)
		return nil, nil
	}
	// Full: the policy picks the publication that is lost; every loss is reported.
	var dropped queuedFrame
	switch {
	case s.cfg.overflow == OverflowDropOldest && s.cfg.offlineQueueSize > 0:
		dropped = s.offline[0]
		s.offline = append(s.offline[1:], item)
	case s.cfg.overflow == OverflowDropNewest:
		dropped = item
	default:
		err := fmt.Errorf("%w (%d publications waiting); not sent", ErrOfflineQueueFull, len(s.offline))
		return []output{emit(&event{Type: evQueueOverflow, Dropped: 1, Err: err})}, err
	}
	err := fmt.Errorf("%w: dropped a publication to %s", ErrOfflineQueueFull, frameTarget(dropped.frame))
	out := []output{emit(&event{Type: evQueueOverflow, Dropped: 1, Err: err})}
	if a := s.acks[dropped.ackID]; a != nil {
		out = append(out, s.endAck(a, ErrOfflineQueueFull)...)
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

// refreshToken sends a fresh token in place on the live connection, a ping with the same ID
// (spec §10); false when there is no connection to refresh.
func (s *session) refreshToken(token string) ([]output, bool) {
	if s.state != stateConnected {
		return nil, false
	}
	s.token = token
	rid := s.newRID()
	s.requests[rid] = pendingRequest{kind: requestRefresh}
	return []output{sendFrame(&envelope{Action: actionPing, From: s.cfg.id, Token: token, RID: rid})}, true
}

// answer acknowledges a publish_ack delivery (spec §6.1) once the application's callback
// returned; nothing when the connection it came on is gone.
func (s *session) answer(serverAckID string, success bool, failure string) []output {
	if !s.linkUp() {
		return nil
	}
	return []output{sendFrame(s.ackFrame(serverAckID, success, failure))}
}

func (s *session) ackFrame(serverAckID string, success bool, failure string) *envelope {
	data, _ := encodeData(AckResponse{AckID: serverAckID, ClientID: s.cfg.id, Success: success, Error: failure})
	return &envelope{Action: actionAck, AckID: serverAckID, From: s.cfg.id, Data: data}
}
