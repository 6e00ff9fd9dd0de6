package ksps

import (
	"encoding/json"
	"strings"
)

// What the session core does with each frame the server sends (spec §3-§8, §11).

// frame handles one decoded frame received on the current connection.
func (s *session) frame(now int64, e *envelope) []output {
	if !s.hasLink() || s.state == stateConnecting {
		return nil
	}
	switch e.Action {
	case actionPong:
		return s.pong(now, e)
	case actionSubscribed, actionUnsubscribed:
		return s.confirmed(now, e)
	case actionError:
		return s.serverError(now, e)
	case actionPublish:
		return s.delivery(e, "")
	case actionPublishAck:
		return s.deliveryWithAck(e)
	case actionDirectMessage:
		return []output{emit(&event{Type: evDirect, Data: e.Data, From: e.From})}
	case actionAckProgress:
		return s.ackProgress(e)
	case actionAckResponse:
		return s.ackResponse(e)
	case actionAckStatus:
		return s.ackStatus(e)
	}
	// published, ack_cancelled, server_message_sent carry nothing the client waits for;
	// unknown actions are ignored (spec §2.2).
	return nil
}

// pong answers a ping: the registration (spec §3.1) or an in-place token refresh (§10).
func (s *session) pong(now int64, e *envelope) []output {
	req, ok := s.requests[e.RID]
	if !ok {
		return nil
	}
	delete(s.requests, e.RID)
	if req.kind == requestRegister && s.state == stateRegistering {
		return s.registered(now)
	}
	return nil
}

// confirmed is a subscribed or unsubscribed reply, matched to its request by rid (spec §11).
func (s *session) confirmed(now int64, e *envelope) []output {
	req, ok := s.requests[e.RID]
	if !ok {
		return nil
	}
	delete(s.requests, e.RID)
	switch req.kind {
	case requestRestore:
		return s.restored(now)
	case requestSubscribe:
		return []output{emit(&event{Type: evSubscribed, Handle: req.handle})}
	case requestUnsubscribe:
		return []output{emit(&event{Type: evUnsubscribed, Handle: req.handle})}
	}
	return nil
}

// restored counts down the resubscriptions; the last answer makes the connection usable.
func (s *session) restored(now int64) []output {
	s.restoring--
	if s.restoring == 0 && s.state == stateRestoring {
		return s.goOnline(now)
	}
	return nil
}

// serverError routes an error frame to the request it answers (spec §11.2): by rid, else by
// the client's ack ID; any other one, e.g. a refused publish named by its topic, is reported.
func (s *session) serverError(now int64, e *envelope) []output {
	refusal := &ServerError{Text: e.Error, Code: e.Code, Topic: e.Topic, RID: e.RID, AckID: e.AckID}
	if req, ok := s.requests[e.RID]; ok && e.RID != "" {
		delete(s.requests, e.RID)
		return s.requestRefused(now, req, refusal)
	}
	if a := s.acks[e.AckID]; a != nil && e.AckID != "" {
		return s.ackRefused(a, refusal)
	}
	return []output{s.errorEvent(refusal)}
}

func (s *session) errorEvent(refusal *ServerError) output {
	return emit(&event{Type: evError, Error: refusal.Text, ErrCode: refusal.Code, Topic: refusal.Topic, Err: refusal})
}

func (s *session) requestRefused(now int64, req pendingRequest, refusal *ServerError) []output {
	switch req.kind {
	case requestRegister:
		// E.g. code "id_taken" (spec §10.6): this attempt failed.
		out := []output{s.errorEvent(refusal), {Type: outClose, Code: CloseNormal, Reason: "registration refused"}}
		return append(out, s.lost(now, CloseAbnormal, "registration refused: "+refusal.Text)...)
	case requestRestore:
		// A subscription the server now refuses (spec §10) is dropped and reported.
		delete(s.topics, req.topic)
		return append([]output{s.errorEvent(refusal)}, s.restored(now)...)
	case requestSubscribe:
		delete(s.topics, req.topic)
		fallthrough
	case requestUnsubscribe:
		return []output{emit(&event{Type: evRefused, Handle: req.handle, Error: refusal.Text, ErrCode: refusal.Code, Err: refusal})}
	}
	// A refreshed token the server refuses (spec §10): the connection keeps the old one.
	return []output{emit(&event{Type: evError, Error: refusal.Text, ErrCode: refusal.Code,
		Err: &AuthError{Code: CloseUnauthorized, Reason: "refreshed token refused: " + refusal.Text}})}
}

// delivery is a publication on a subscribed topic (spec §4.2), with the server's ack ID when
// it asks for an acknowledgement. The payload arrives wrapped as {"data": D, "from": SENDER}.
func (s *session) delivery(e *envelope, ackID string) []output {
	data, from := unwrapDelivery(e)
	return []output{emit(&event{Type: evDelivery, Topic: e.Topic, Data: data, From: from, AckID: ackID})}
}

// deliveryWithAck is a publish_ack (spec §6.1): a subscribed topic's delivery, a direct message
// with acknowledgement on this client's __direct_ topic (§6.4), or else answered at once with
// "no subscriber for topic".
func (s *session) deliveryWithAck(e *envelope) []output {
	if s.topics[e.Topic] {
		return s.delivery(e, e.AckID)
	}
	if strings.HasPrefix(e.Topic, directTopicPrefix+s.cfg.id+"_") {
		data, from := unwrapDelivery(e)
		return []output{emit(&event{Type: evDirect, Data: data, From: from, AckID: e.AckID})}
	}
	return []output{sendFrame(s.ackFrame(e.AckID, false, noSubscriberError))}
}

// unwrapDelivery reads the payload and sender of a topic delivery. A value without the "data"
// key is a raw server publication and is passed on as is; a top-level from wins (spec §4.2).
func unwrapDelivery(e *envelope) (json.RawMessage, string) {
	var wrapper map[string]json.RawMessage
	if err := json.Unmarshal(e.Data, &wrapper); err != nil || wrapper == nil {
		return e.Data, e.From
	}
	inner, nested := wrapper["data"]
	if !nested {
		return e.Data, e.From
	}
	from := e.From
	if from == "" {
		_ = json.Unmarshal(wrapper["from"], &from)
	}
	return inner, from
}
