package ksps

import (
	"errors"
	"fmt"
)

// Errors returned by the client. Compare them with errors.Is:
//
//	ErrConnectionFailed   NewClient could not reach the server (and Autorestart is off)
//	ErrClosed             the client was closed with Close
//	ErrNotConnected       the connection is lost and the client does not reconnect
//	ErrReplaced           another connection took this client's ID (close code 4001)
//	ErrOfflineQueueFull   a publication made while offline did not fit the offline queue
//	*ServerError          the server answered a frame with an error frame (see OnError)
var (
	ErrConnectionFailed = errors.New("ksps: connection failed")
	ErrClosed           = errors.New("ksps: client closed")
	ErrNotConnected     = errors.New("ksps: not connected")
	ErrReplaced         = errors.New("ksps: replaced by a newer connection with the same ID")
	ErrOfflineQueueFull = errors.New("ksps: offline queue full")
)

// ServerError is an error frame sent by the server (spec/protocol.md §7.1). The connection stays
// open after it. The client reports it through ClientOptions.OnError.
type ServerError struct {
	// Text is the server's error text, for example "missing or invalid topic".
	Text string
}

// Error implements error.
func (e *ServerError) Error() string { return fmt.Sprintf("ksps: server error: %s", e.Text) }

// callbackError is the failure of a Subscribe callback or OnID handler that panicked. Its text is
// what the acknowledgement carries (spec/protocol.md §6.1).
func callbackError(recovered any) string {
	if err, ok := recovered.(error); ok {
		return err.Error()
	}
	return fmt.Sprint(recovered)
}
