package ksps

import (
	"slices"
	"strconv"
)

// The ack requests of the session core (spec §6): created by publish_with_ack and
// publish_to_id_with_ack, answered by ack_progress and ack_response frames, ended by cancel,
// their deadline, the loss of the connection they went out on, or the end of the client.

// ackEntry is one pending request.
type ackEntry struct {
	id       string // the client ack ID on the wire, client_ack_<id>_<n> as the original clients
	handle   string // the application's name for it, in events
	deadline int64  // timeout + ackGraceMs after it was made
	sent     bool   // went out on a connection (a lost connection then ends it)
	answered map[string]bool
}

// ackOutcome is how a request ended (for the Go handle; traces only say ack_done).
type ackOutcome int

const (
	ackPending   ackOutcome = iota
	ackCompleted            // the server's ack_response arrived
	ackCancelled            // cancel
	ackExpired              // no final answer before the deadline
	ackAborted              // not sent, its connection was lost, or the client stopped
	ackRefused              // the server refused it with an error frame
)

// ackBook holds the pending requests by ack ID and by handle, in creation order.
type ackBook struct {
	prefix   string
	next     uint64
	order    []*ackEntry
	byID     map[string]*ackEntry
	byHandle map[string]*ackEntry
}

func newAckBook(clientID string) ackBook {
	return ackBook{prefix: "client_ack_" + clientID + "_", byID: map[string]*ackEntry{}, byHandle: map[string]*ackEntry{}}
}

func (b *ackBook) add(handle string, deadline int64) *ackEntry {
	b.next++
	a := &ackEntry{id: b.prefix + strconv.FormatUint(b.next, 10), handle: handle, deadline: deadline, answered: map[string]bool{}}
	b.order = append(b.order, a)
	b.byID[a.id], b.byHandle[handle] = a, a
	return a
}

func (b *ackBook) end(a *ackEntry) {
	delete(b.byID, a.id)
	delete(b.byHandle, a.handle)
	if i := slices.Index(b.order, a); i >= 0 {
		b.order = slices.Delete(b.order, i, i+1)
	}
}

func (b *ackBook) sent() []*ackEntry {
	var sent []*ackEntry
	for _, a := range b.order {
		if a.sent {
			sent = append(sent, a)
		}
	}
	return sent
}

func (b *ackBook) nextDeadline() int64 {
	next := noDeadline
	for _, a := range b.order {
		next = min(next, a.deadline)
	}
	return next
}

// expired returns the requests whose deadline passed, earliest first.
func (b *ackBook) expired(now int64) []*ackEntry {
	var due []*ackEntry
	for _, a := range b.order {
		if a.deadline <= now {
			due = append(due, a)
		}
	}
	slices.SortStableFunc(due, func(x, y *ackEntry) int { return int(x.deadline - y.deadline) })
	return due
}

// clear forgets every request (the session closed) and returns their handles.
func (b *ackBook) clear() []string {
	handles := make([]string, 0, len(b.order))
	for _, a := range b.order {
		handles = append(handles, a.handle)
	}
	*b = ackBook{prefix: b.prefix, next: b.next, byID: map[string]*ackEntry{}, byHandle: map[string]*ackEntry{}}
	return handles
}

// publishWithAck publishes with acknowledgement (spec §6.1-§6.3): frame has its action, target
// (Topic or To) and Data. The request ends timeout + ackGraceMs from now at the latest. It
// returns the client ack ID, "" when the request was not made.
func (s *session) publishWithAck(now int64, frame *envelope, timeout int64, handle string) (string, []output, error) {
	if timeout <= 0 {
		timeout = s.cfg.defaultAckTimeout
	}
	a := s.acks.add(handle, now+timeout+ackGraceMs)
	frame.AckID, frame.From, frame.Timeout = a.id, s.cfg.id, timeout
	// Always ask for per-response progress (spec §6.3): it lets WaitAny return the first answer.
	frame.Progress = true
	if s.state == stateReady {
		a.sent = true
		return a.id, []output{sendFrame(frame)}, nil
	}
	if s.state == stateClosed {
		return a.id, s.endAck(a, ackAborted, s.stopped), s.stopped
	}
	out, err := s.enqueue(frame, handle)
	if err != nil && s.acks.byHandle[handle] != nil {
		out = append(out, s.endAck(a, ackAborted, err)...)
	}
	return a.id, out, err
}

// cancelAck ends a request at once; the server drops it too when it had it (spec §6.5).
func (s *session) cancelAck(now int64, handle string) []output {
	a := s.acks.byHandle[handle]
	if a == nil {
		return nil
	}
	var out []output
	if a.sent && s.registered() {
		out = append(out, sendFrame(&envelope{Action: actionCancelAck, AckID: a.id, From: s.cfg.id}))
	}
	return append(out, s.endAck(a, ackCancelled, nil)...)
}

// fetchStatus asks the server who answered the request so far (get_ack_status, spec §6.5): a
// status event follows, or refused NotConnected when the server cannot be asked.
func (s *session) fetchStatus(now int64, handle string) []output {
	a := s.acks.byHandle[handle]
	if a == nil || !a.sent || !s.registered() {
		return []output{refusedEvent(handle, errNotConnected, "", ErrNotConnected)}
	}
	req := s.requests.add(requestStatus, a.id, handle)
	return []output{sendFrame(&envelope{Action: actionGetAckStatus, AckID: a.id, From: s.cfg.id, RID: req.rid})}
}

func (s *session) endAck(a *ackEntry, outcome ackOutcome, err error) []output {
	s.acks.end(a)
	return []output{emit(&event{Type: evAckDone, Handle: a.handle, Outcome: outcome, Err: err})}
}

// ackProgress reports one responder's answer as it arrives (spec §6.3).
func (s *session) ackProgress(e *envelope) []output {
	a := s.acks.byID[e.AckID]
	if a == nil {
		return nil
	}
	resp, ok := decodeAckResponse(e.Data)
	if !ok || a.answered[resp.ClientID] {
		return nil
	}
	a.answered[resp.ClientID] = true
	return []output{emit(&event{Type: evAckResponse, Handle: a.handle, Response: resp})}
}

// ackResponse is the server's aggregated answer (spec §6.2): the responders not reported by an
// ack_progress (an original server sends none), in the frame's order, then the end.
func (s *session) ackResponse(e *envelope) []output {
	a := s.acks.byID[e.AckID]
	if a == nil {
		return nil
	}
	var out []output
	responses := e.Responses
	if responses == nil {
		responses = &ackResponses{}
	}
	for _, key := range responses.keys {
		if a.answered[key] {
			continue
		}
		a.answered[key] = true
		resp := responses.values[key]
		if resp.ClientID == "" {
			resp.ClientID = key
		}
		out = append(out, emit(&event{Type: evAckResponse, Handle: a.handle, Response: resp}))
	}
	return append(out, s.endAck(a, ackCompleted, nil)...)
}

// ackStatus is the reply to a fetchStatus, matched by rid (spec §6.5, §11.1).
func (s *session) ackStatus(e *envelope) []output {
	req := s.requests.take(e.RID, e.AckID, requestStatus)
	if req == nil {
		return nil
	}
	status := e.Status
	if status == nil {
		status = map[string]bool{}
	}
	return []output{emit(&event{Type: evStatus, Handle: req.handle, Status: status})}
}
