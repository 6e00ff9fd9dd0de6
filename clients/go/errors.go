package ksps

import (
	"errors"
	"fmt"
)

// Errors returned by the client. Compare them with errors.Is; each has one meaning, the same in
// every ksps client (docs/api-names.md, generated from spec/vocabulary.toml):
//
//	ErrConnectionFailed   NewClient could not reach the server (and Autorestart is off)
//	ErrClosed             the client was closed (Close, or for good after a lost connection)
//	ErrReplaced           another connection took this client's ID (close code 4001); a kind of
//	                      ErrClosed: errors.Is(err, ErrClosed) is true for it too
//	ErrNotConnected       an operation that needs the server was made while disconnected
//	ErrOfflineQueueFull   a publication made while offline did not fit the offline queue
//	ErrAuth               the server refused the credentials (*AuthError: close 4003/4004, HTTP 401)
//	*ServerErrorReply     the server answered a frame with an error frame (see OnError)
//	*CallbackError        a Subscribe callback, the OnID handler or OnSubscribed panicked
var (
	ErrConnectionFailed       = errors.New("ksps: connection failed")
	ErrClosed                 = errors.New("ksps: client closed")
	ErrNotConnected           = errors.New("ksps: not connected")
	ErrReplaced         error = replacedError{}
	ErrOfflineQueueFull       = errors.New("ksps: offline queue full")
	ErrAuth                   = errors.New("ksps: credentials refused")
)

// replacedError is ErrReplaced: a kind of ErrClosed, as ConnectionReplaced is a subclass of
// ClientClosed in the Python and JavaScript clients.
type replacedError struct{}

func (replacedError) Error() string { return "ksps: replaced by a newer connection with the same ID" }

// Is makes errors.Is(ErrReplaced, ErrClosed) true.
func (replacedError) Is(target error) bool { return target == ErrClosed }

// AuthError is the server's refusal of the client's credentials (spec/protocol.md §10): close
// code 4003 (bad or missing token, ID not allowed), 4004 (token expired) or HTTP 401 at the
// upgrade. It matches ErrAuth with errors.Is; get its details with errors.As.
//
// With ClientOptions.GetToken the client gets a new token and tries again (at once after 4004,
// with backoff otherwise); without it, the client closes for good, as after 4001.
type AuthError struct {
	// Code is the close code (4003, 4004) or the HTTP status (401) that refused the credentials.
	Code int
	// Reason is the close reason or the HTTP refusal's text.
	Reason string
}

// Error implements error.
func (e *AuthError) Error() string {
	return fmt.Sprintf("ksps: credentials refused (%d): %s", e.Code, e.Reason)
}

// Is makes errors.Is(err, ErrAuth) true for every *AuthError.
func (e *AuthError) Is(target error) bool { return target == ErrAuth }

// ServerErrorReply is an error frame sent by the server (spec/protocol.md §7.1, §11). The connection
// stays open after it. A refused Subscribe returns it (SubscribeContext), a refused
// PublishWithAck ends its Ack with it (Ack.Err, WaitContext), and any other one, for example a
// refused Publish (see Topic), is reported through ClientOptions.OnError.
type ServerErrorReply struct {
	// Text is the server's error text, for example "missing or invalid topic".
	Text string
	// Code is the machine-readable class: "forbidden", "id_taken", "limit"; "" for the
	// original errors.
	Code string
	// Topic is the topic of the refused frame, "" when it had none.
	Topic string
	// RID is the request ID of the refused frame, "" when it had none.
	RID string
	// AckID is the client's ack ID of a refused request with acknowledgement, "" when none.
	AckID string
}

// Error implements error.
func (e *ServerErrorReply) Error() string { return fmt.Sprintf("ksps: server error: %s", e.Text) }

// CallbackError is a Subscribe callback or OnID handler that panicked (spec/protocol.md §6.1: the
// publisher gets a failed ack with its text), or the OnSubscribed hook (reported to OnError; the
// client goes on). Value is what it panicked with; Unwrap returns it when it is an error.
type CallbackError struct {
	// Topic is the topic of the delivery or of the OnSubscribed call, "" for a direct message to
	// the OnID handler.
	Topic string
	// Value is the value the callback panicked with.
	Value any
	// Hook names the ClientOptions hook that panicked ("OnSubscribed"); "" for a Subscribe
	// callback or the OnID handler.
	Hook string
}

// Error implements error.
func (e *CallbackError) Error() string {
	where := "the OnID handler"
	switch {
	case e.Hook != "":
		where = fmt.Sprintf("the %s hook of topic %q", e.Hook, e.Topic)
	case e.Topic != "":
		where = fmt.Sprintf("the callback of topic %q", e.Topic)
	}
	return fmt.Sprintf("ksps: %s panicked: %s", where, callbackError(e.Value))
}

// Unwrap returns the panic value when it is an error.
func (e *CallbackError) Unwrap() error {
	err, _ := e.Value.(error)
	return err
}

// callbackError is the failure of a Subscribe callback or OnID handler that panicked. Its text is
// what the acknowledgement carries (spec/protocol.md §6.1).
func callbackError(recovered any) string {
	if err, ok := recovered.(error); ok {
		return err.Error()
	}
	return fmt.Sprint(recovered)
}
