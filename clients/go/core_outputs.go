package ksps

import "encoding/json"

// The outputs of the session core (core.go), in the model of spec/traces/README.md: what the
// driver must do, in order. Their JSON form (traceJSON) is what the trace vectors record.

const (
	outOpen  = "open"  // open a connection to URL, then input opened or lost
	outSend  = "send"  // write Frame on the connection
	outClose = "close" // close the connection with Code and Reason
	outEvent = "event" // tell the application (Event)
)

// Event types.
const (
	evConnected     = "connected"
	evDisconnected  = "disconnected"
	evClosed        = "closed"
	evDelivery      = "delivery"
	evDirect        = "direct"
	evSubscribed    = "subscribed"
	evUnsubscribed  = "unsubscribed"
	evRefused       = "refused"
	evAckResponse   = "ack_response"
	evAckDone       = "ack_done"
	evStatus        = "status"
	evError         = "error"
	evQueueOverflow = "queue_overflow"
	evReconnecting  = "reconnecting"
	evPresence      = "presence" // the answer to a presence intent (spec §15.2)
	evJoin          = "join"     // a member event of a JoinLeave topic (§15.3)
	evLeave         = "leave"
	evSubscription  = "subscription" // a history-aware subscribed reply: position, recovery (§14.3)
	evHistory       = "history"      // the answer to a history intent (§14.4)
)

// output is one thing the driver must do.
type output struct {
	Type   string
	URL    string    // open
	Frame  *envelope // send
	Code   int       // close
	Reason string    // close
	Event  *event    // event
}

// Error class names in error and refused events, shared by the three clients (spec/traces).
const (
	errServerErrorReply   = "ServerErrorReply"
	errConnectionFailed   = "ConnectionFailed"
	errConnectionReplaced = "ConnectionReplaced"
	errAuth               = "AuthError"
	errNotConnected       = "NotConnected"
	errClientClosed       = "ClientClosed"
)

// event is what the application is told. Only the members of its type are set.
type event struct {
	Type string
	// disconnected: the close code (0: no close frame) and reason
	Code   int
	Reason string
	// delivery, direct: Data is the published payload, unwrapped (spec §4.2)
	Topic string
	Data  json.RawMessage
	From  string
	AckID string // the server's ack ID of a delivery to answer (spec §6.1)
	// subscribed, unsubscribed, refused, ack_response, ack_done, status
	Handle string
	// error, refused: the error class name and the server's code; CloseCode for AuthError and
	// ConnectionReplaced
	Error     string
	ErrCode   string
	CloseCode int
	// ack_response
	Response AckResponse
	// status
	Status map[string]bool
	// queue_overflow: the frame that will not be sent
	Dropped *envelope
	// reconnecting
	Delay int64
	// presence: the answer's members (spec §15.2); join, leave: Topic and the Member's ID
	Count     int
	IDs       []string
	Truncated bool
	Member    string
	// delivery: the publication's offset, nil when the frame had none; subscription, history:
	// the stream position of the reply, nil when it had none (spec §14.2)
	Offset *int64
	Epoch  *string
	// subscription: the subscribe frame carried since, and the server recovered everything
	Recovering bool
	Recovered  bool
	// history: the publications read
	Publications []historyItem

	// Not in traces: how an ack request ended (ack_done), the handles a closed session ended
	// (closed), and the Go error behind an event.
	Outcome ackOutcome
	Ended   []string
	Err     error
}

func sendFrame(e *envelope) output { return output{Type: outSend, Frame: e} }

func emit(e *event) output { return output{Type: outEvent, Event: e} }

// traceJSON is the output as the trace vectors write it (spec/traces/README.md).
func (o output) traceJSON() map[string]any {
	switch o.Type {
	case outOpen:
		return map[string]any{"type": o.Type, "url": o.URL}
	case outSend:
		var frame map[string]any
		_ = json.Unmarshal(encodeFrame(o.Frame), &frame)
		return map[string]any{"type": o.Type, "frame": frame}
	case outClose:
		return map[string]any{"type": o.Type, "code": o.Code, "reason": o.Reason}
	}
	return map[string]any{"type": o.Type, "event": o.Event.traceJSON()}
}

func (e *event) traceJSON() map[string]any {
	m := map[string]any{"type": e.Type}
	optional := func(key, value string) {
		if value != "" {
			m[key] = value
		}
	}
	switch e.Type {
	case evDisconnected:
		m["code"], m["reason"] = any(nil), e.Reason
		if e.Code != 0 {
			m["code"] = e.Code
		}
	case evDelivery, evDirect:
		var data any
		if len(e.Data) > 0 {
			_ = json.Unmarshal(e.Data, &data)
		}
		m["data"], m["from"] = data, e.From
		if e.Type == evDelivery {
			m["topic"] = e.Topic
		}
		optional("ack_id", e.AckID)
		if e.Offset != nil {
			m["offset"] = *e.Offset
		}
	case evSubscription:
		m["topic"], m["recovering"], m["recovered"] = e.Topic, e.Recovering, e.Recovered
		if e.Offset != nil {
			m["offset"] = *e.Offset
		}
		if e.Epoch != nil {
			m["epoch"] = *e.Epoch
		}
	case evHistory:
		publications := make([]any, 0, len(e.Publications))
		for _, p := range e.Publications {
			var data any
			if len(p.Data) > 0 {
				_ = json.Unmarshal(p.Data, &data)
			}
			publications = append(publications, map[string]any{"data": data, "from": p.From, "offset": p.Offset})
		}
		m["handle"], m["publications"] = e.Handle, publications
		m["offset"], m["epoch"] = *e.Offset, *e.Epoch
	case evSubscribed, evUnsubscribed, evAckDone:
		m["handle"] = e.Handle
	case evRefused:
		m["handle"], m["error"], m["code"] = e.Handle, e.Error, e.ErrCode
	case evAckResponse:
		m["handle"], m["client_id"], m["success"] = e.Handle, e.Response.ClientID, e.Response.Success
		optional("error", e.Response.Error)
	case evStatus:
		m["handle"], m["status"] = e.Handle, e.Status
	case evError:
		m["error"] = e.Error
		if e.CloseCode != 0 {
			m["code"] = e.CloseCode
		} else {
			optional("code", e.ErrCode)
		}
		optional("topic", e.Topic)
	case evQueueOverflow:
		var frame map[string]any
		_ = json.Unmarshal(encodeFrame(e.Dropped), &frame)
		m["dropped"] = frame
	case evReconnecting:
		m["delay"] = e.Delay
	case evPresence:
		m["handle"], m["count"], m["ids"], m["truncated"] = e.Handle, e.Count, e.IDs, e.Truncated
	case evJoin, evLeave:
		m["topic"], m["id"] = e.Topic, e.Member
	}
	return m
}
