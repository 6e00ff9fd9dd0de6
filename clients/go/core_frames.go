package ksps

import (
	"encoding/json"
	"fmt"
	"strings"
)

// What the session core does with each frame the server sends (spec §2-§8, §11).

// frame handles one decoded frame from the current connection.
func (s *session) frame(now int64, e *envelope) []output {
	if !s.registered() && !s.requests.hasKind(requestPing) {
		return nil // no connection expects frames (closed, waiting, or not yet opened)
	}
	switch e.Action {
	case actionPublish:
		if s.topics.has(e.Topic) {
			out := s.delivery(e, "")
			if offset, ok := wireInt(e.Offset); ok {
				out.Event.Offset = &offset
				s.delivered(e.Topic, offset)
			}
			return []output{out}
		}
	case actionPublishAck:
		return s.publishAck(e)
	case actionDirectMessage:
		return []output{s.frameDirect(e)}
	case actionAckProgress:
		return s.ackProgress(e)
	case actionAckResponse:
		return s.ackResponse(e)
	case actionAckStatus:
		return s.ackStatus(e)
	case actionPong:
		if req := s.requests.take(e.RID, "", requestPing, requestRefresh); req != nil && req.kind == requestPing {
			return s.registeredOnLink()
		}
	case actionSubscribed:
		return s.subscribed(e)
	case actionUnsubscribed:
		if req := s.requests.take(e.RID, e.Topic, requestUnsubscribe); req != nil {
			return []output{emit(&event{Type: evUnsubscribed, Handle: req.handle})}
		}
	case actionError:
		return s.serverError(now, e)
	case actionPresence:
		if req := s.requests.take(e.RID, e.Topic, requestPresence); req != nil {
			ids := e.IDs
			if ids == nil {
				ids = []string{}
			}
			return []output{emit(&event{Type: evPresence, Handle: req.handle, Count: e.Count, IDs: ids, Truncated: e.Truncated})}
		}
	case actionHistory:
		return s.historyReply(e)
	case actionJoin, actionLeave:
		// Only for topics subscribed with JoinLeave; late events of a topic left are dropped (§15.3).
		if s.joinLeave[e.Topic] && e.ID != "" {
			kind := evJoin
			if e.Action == actionLeave {
				kind = evLeave
			}
			return []output{emit(&event{Type: kind, Topic: e.Topic, Member: e.ID})}
		}
	}
	// published, ack_cancelled, server_message_sent and unknown actions need nothing (§2.2).
	return nil
}

// publishAck is a delivery that asks for an answer (spec §6.1): a direct message on a
// __direct_ topic (§6.4), a subscribed topic's delivery, or else answered at once with
// "no subscriber for topic".
func (s *session) publishAck(e *envelope) []output {
	switch {
	case strings.HasPrefix(e.Topic, directTopicPrefix):
		ev := s.delivery(e, e.AckID)
		ev.Event.Type, ev.Event.Topic = evDirect, ""
		return []output{ev}
	case s.topics.has(e.Topic):
		return []output{s.delivery(e, e.AckID)}
	case e.AckID != "":
		return []output{sendFrame(s.ackFrame(e.AckID, false, noSubscriberError))}
	}
	return nil
}

// delivery unwraps a topic delivery: the server nests the payload as {"data": D, "from":
// SENDER} (spec §4.2); a value without the "data" key (published by server code that bypasses
// the nesting) is passed on as is, with the frame's from.
func (s *session) delivery(e *envelope, ackID string) output {
	data, from := e.Data, e.From
	var wrapper map[string]json.RawMessage
	if json.Unmarshal(e.Data, &wrapper) == nil && wrapper != nil {
		if inner, nested := wrapper["data"]; nested {
			data = inner
			if raw, ok := wrapper["from"]; ok {
				from = ""
				_ = json.Unmarshal(raw, &from)
			}
		}
	}
	return emit(&event{Type: evDelivery, Topic: e.Topic, Data: data, From: from, AckID: ackID})
}

// frameDirect is a direct_message: flat, not nested (spec §5.1).
func (s *session) frameDirect(e *envelope) output {
	return emit(&event{Type: evDirect, Data: e.Data, From: e.From})
}

// subscribed confirms a subscribe or a restored subscription (matched by rid, spec §11.1).
func (s *session) subscribed(e *envelope) []output {
	req := s.requests.take(e.RID, e.Topic, requestSubscribe, requestRestore)
	if req == nil {
		return nil
	}
	if handle, ok := s.topics.handles[e.Topic]; ok && handle == req.handle {
		s.topics.handles[e.Topic] = "" // confirmed: nothing waits for it any more
	}
	var out []output
	// The position and the subscription event (OnSubscribed) come before the subscribed event.
	if ev := s.subscriptionEvent(req.key, e, req.recovering); ev != nil {
		out = append(out, emit(ev))
	}
	if req.handle != "" {
		out = append(out, emit(&event{Type: evSubscribed, Handle: req.handle}))
	}
	if req.kind == requestRestore {
		out = append(out, s.restoredOne()...)
	}
	return out
}

// serverError routes an error frame to the request it answers (spec §11.2): by rid, else (before
// the registration, from a server that does not echo rid) the ping, else by the client's ack
// ID; any other one, e.g. a refused publish named by its topic, is an error event.
func (s *session) serverError(now int64, e *envelope) []output {
	refusal := &ServerErrorReply{Text: e.Error, Code: e.Code, Topic: e.Topic, RID: e.RID, AckID: e.AckID}
	req := s.requests.takeRID(e.RID)
	if req == nil && !s.registered() {
		req = s.requests.take("", "", requestPing)
	}
	if req != nil {
		return s.requestRefused(now, req, refusal)
	}
	if a := s.acks.byID[e.AckID]; e.AckID != "" && a != nil {
		out := []output{refusedEvent(a.handle, errServerErrorReply, refusal.Code, refusal)}
		return append(out, s.endAck(a, ackRefused, refusal)...)
	}
	return []output{serverErrorEvent(refusal, refusal.Topic)}
}

func (s *session) requestRefused(now int64, req *request, refusal *ServerErrorReply) []output {
	if req.kind == requestPing {
		// E.g. code "id_taken" (spec §10.6): this attempt failed.
		out := []output{{Type: outClose, Code: CloseNormal, Reason: "registration refused"}}
		failure := fmt.Errorf("%w: the server refused the registration: %w", ErrConnectionFailed, refusal)
		return append(out, s.gone(now, 0, "registration refused", failure)...)
	}
	var out []output
	if req.kind == requestSubscribe || req.kind == requestRestore {
		if handle, ok := s.topics.handles[req.key]; ok && handle == req.handle {
			s.topics.remove(req.key) // a refused subscription is not kept (spec §10.4)
			delete(s.joinLeave, req.key)
			delete(s.positions, req.key)
		}
		if req.kind == requestRestore {
			out = append(out, s.restoredOne()...)
		}
	}
	if req.handle == "" || req.kind == requestRefresh {
		topic := refusal.Topic
		if topic == "" {
			topic = req.key
		}
		return append(out, serverErrorEvent(refusal, topic))
	}
	return append(out, refusedEvent(req.handle, errServerErrorReply, refusal.Code, refusal))
}

func serverErrorEvent(refusal *ServerErrorReply, topic string) output {
	return emit(&event{Type: evError, Error: errServerErrorReply, ErrCode: refusal.Code, Topic: topic, Err: refusal})
}

func refusedEvent(handle, class, code string, err error) output {
	return emit(&event{Type: evRefused, Handle: handle, Error: class, ErrCode: code, Err: err})
}
