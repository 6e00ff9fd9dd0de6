package ksps

import (
	"errors"
	"slices"
	"sort"
)

// The state of ack requests in the session core (spec §6): created by publish_with_ack and
// publish_to_id_with_ack, answered by ack_progress and ack_response frames, ended by Cancel,
// the local deadline, the loss of the connection they went out on, or the end of the client.

// ackEntry is one pending ack request.
type ackEntry struct {
	id     string // the client ack ID sent as ack_id
	handle string // the application's name for it, in events
	// serverDeadline is when the server stops waiting for responders; the local deadline is
	// ackGrace later, so that the server's final answer normally arrives first.
	serverDeadline int64
	localDeadline  int64
	sent           bool            // went out on the current connection (else: in the offline queue)
	answered       map[string]bool // responders already reported
	statusAsked    int             // get_ack_status requests awaiting their ack_status
}

// ackOutcome is how a request ended.
type ackOutcome int

const (
	ackPending   ackOutcome = iota
	ackCompleted            // the server's ack_response arrived
	ackCancelled            // Cancel was called
	ackExpired              // no final answer before the local deadline
	ackAborted              // the request could not be sent, its connection was lost, or the client stopped
	ackRefused              // the server refused it with an error frame
)

// publishWithAck creates an ack request and sends it (or queues it). frame has its action and
// target (Topic or To) and Data; timeout is in milliseconds (default when <= 0).
func (s *session) publishWithAck(now int64, frame *envelope, timeout int64, handle string) (string, []output, error) {
	if s.stopped != nil {
		return "", nil, s.stopped
	}
	if timeout <= 0 {
		timeout = s.cfg.defaultAckTimeout
	}
	a := &ackEntry{
		id: s.newAckID(), handle: handle,
		serverDeadline: now + timeout, localDeadline: now + timeout + s.cfg.ackGrace,
		answered: make(map[string]bool),
	}
	frame.AckID, frame.From, frame.Timeout = a.id, s.cfg.id, timeout
	// Always ask for per-response progress (spec §6.3): it lets WaitAny return the first answer.
	frame.Progress = true
	s.acks[a.id] = a
	s.ackOrder = append(s.ackOrder, a.id)
	out, err := s.sendOrQueue(queuedFrame{frame: frame, ackID: a.id})
	if err != nil {
		s.forgetAck(a)
		return "", out, err
	}
	if s.state == stateConnected && s.acks[a.id] != nil {
		a.sent = true
	}
	return a.id, out, nil
}

// cancelAck ends a request at once (spec §6.5): withdrawn from the offline queue if it waits
// there, otherwise the server is told with cancel_ack. Nothing when it is already over.
func (s *session) cancelAck(ackID string) []output {
	a := s.acks[ackID]
	if a == nil {
		return nil
	}
	sent := a.sent
	out := s.finishAck(a, ackCancelled, nil)
	if sent && s.state == stateConnected {
		out = append(out, sendFrame(&envelope{Action: actionCancelAck, AckID: a.id, From: s.cfg.id}))
	}
	return out
}

// errAckOver is fetchStatus's answer for a request that is over: its last known state is final.
var errAckOver = errors.New("ksps: ack request is over")

// fetchStatus asks the server which expected responders answered (get_ack_status, spec §6.5);
// the answer comes as a status event. ErrNotConnected when there is no connection to ask.
func (s *session) fetchStatus(ackID string) ([]output, error) {
	a := s.acks[ackID]
	if a == nil {
		return nil, errAckOver
	}
	if s.state != stateConnected || !a.sent {
		return nil, ErrNotConnected
	}
	a.statusAsked++
	return []output{sendFrame(&envelope{Action: actionGetAckStatus, AckID: a.id, From: s.cfg.id})}, nil
}

func (s *session) expireAck(a *ackEntry) []output {
	sent := a.sent
	out := s.finishAck(a, ackExpired, nil)
	if sent && s.state == stateConnected {
		out = append(out, sendFrame(&envelope{Action: actionCancelAck, AckID: a.id, From: s.cfg.id}))
	}
	return out
}

// endAck ends a request that can get no answer any more, with err.
func (s *session) endAck(a *ackEntry, err error) []output {
	return s.finishAck(a, ackAborted, err)
}

func (s *session) finishAck(a *ackEntry, outcome ackOutcome, err error) []output {
	s.forgetAck(a)
	return []output{emit(&event{Type: evAckDone, Handle: a.handle, Outcome: outcome, Err: err})}
}

// forgetAck drops a request from the table and from the offline queue.
func (s *session) forgetAck(a *ackEntry) {
	delete(s.acks, a.id)
	if i := slices.Index(s.ackOrder, a.id); i >= 0 {
		s.ackOrder = slices.Delete(s.ackOrder, i, i+1)
	}
	s.offline = slices.DeleteFunc(s.offline, func(q queuedFrame) bool { return q.ackID == a.id })
}

// ackProgress reports one responder's answer as it arrives (spec §6.3).
func (s *session) ackProgress(e *envelope) []output {
	a := s.acks[e.AckID]
	if a == nil {
		return nil
	}
	resp, ok := decodeAckResponse(e.Data)
	if !ok {
		return nil
	}
	return s.ackRespond(a, resp)
}

func (s *session) ackRespond(a *ackEntry, resp AckResponse) []output {
	if a.answered[resp.ClientID] {
		return nil
	}
	a.answered[resp.ClientID] = true
	return []output{emit(&event{Type: evAckResponse, Handle: a.handle, Response: resp})}
}

// ackResponse is the server's aggregated answer (spec §6.2): the responses not reported by
// ack_progress (an original server sends none), in responder ID order, then the end.
func (s *session) ackResponse(e *envelope) []output {
	a := s.acks[e.AckID]
	if a == nil {
		return nil
	}
	keys := make([]string, 0, len(e.Responses))
	for key := range e.Responses {
		keys = append(keys, key)
	}
	sort.Strings(keys)
	var out []output
	for _, key := range keys {
		resp := e.Responses[key]
		if resp.ClientID == "" {
			resp.ClientID = key
		}
		out = append(out, s.ackRespond(a, resp)...)
	}
	return append(out, s.finishAck(a, ackCompleted, nil)...)
}

// ackStatus answers the oldest fetchStatus of the request (spec §6.5); an empty status means
// that the server no longer knows the request.
func (s *session) ackStatus(e *envelope) []output {
	a := s.acks[e.AckID]
	if a == nil || a.statusAsked == 0 {
		return nil
	}
	a.statusAsked--
	status := e.Status
	if status == nil {
		status = map[string]bool{}
	}
	return []output{emit(&event{Type: evStatus, Handle: a.handle, Status: status})}
}

// ackRefused ends a request the server refused with an error frame naming its ack ID (§11).
func (s *session) ackRefused(a *ackEntry, refusal *ServerError) []output {
	out := []output{emit(&event{Type: evRefused, Handle: a.handle, Error: refusal.Text, ErrCode: refusal.Code, Err: refusal})}
	return append(out, s.finishAck(a, ackRefused, refusal)...)
}
