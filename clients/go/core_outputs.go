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

// event is what the application is told. Only the members of its type are set.
type event struct {
	Type string
	// disconnected
	Code   int
	Reason string
	// delivery, direct: Data is the published payload, unwrapped (spec §4.2)
	Topic string
	Data  json.RawMessage
	From  string
	AckID string // the server's ack ID of a delivery to acknowledge (spec §6.1)
	// subscribed, unsubscribed, refused, ack_response, ack_done, status
	Handle string
	// refused, error, ack_response
	Error   string
	ErrCode string
	// ack_response
	Response AckResponse
	// status
	Status map[string]bool
	// queue_overflow
	Dropped int
	// reconnecting
	Delay int64
	// Outcome is how an ack request ended (ack_done); not in traces.
	Outcome ackOutcome
	// Err is the Go error behind an event (closed, error, refused, ack_done); not in traces.
	Err error
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
		m["code"], m["reason"] = e.Code, e.Reason
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
		optional("code", e.ErrCode)
		optional("topic", e.Topic)
	case evQueueOverflow:
		m["dropped"] = e.Dropped
	case evReconnecting:
		m["delay"] = e.Delay
	}
	return m
}
