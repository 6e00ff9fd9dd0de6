package ksps

import (
	"context"
	"sync"
	"time"
)

// Ack is the handle of a publication with acknowledgement (PublishWithAck, PublishToIDWithAck).
// The server aggregates the subscribers' answers into one ack_response (spec/protocol.md §6.2)
// and, because the client asks for it, reports each answer as it arrives (§6.3).
//
// Every method is safe for concurrent use and none panics, whatever the state of the connection.
// Wait and WaitAny may be called any number of times; the responses are kept.
type Ack struct {
	id     string
	client *Client
	// serverDeadline is when the server gives up waiting for responders; the local deadline is
	// a little later so that the server's final answer normally arrives first.
	serverDeadline time.Time

	mu            sync.Mutex
	responses     map[string]AckResponse
	first         *AckResponse
	firstArrived  chan struct{} // closed with the first response, or when the request ends
	done          chan struct{} // closed when the request ends
	outcome       ackOutcome
	err           error
	timer         *time.Timer
	statusWaiters []statusWaiter
	sentOn        *connection // the connection the request went out on, nil while queued
}

// ID returns the request's client-side ack ID (the ack_id sent with the publication).
func (a *Ack) ID() string { return a.id }

// Err returns why the request ended without the server's answer, or nil: it could not be sent
// (ErrClosed, ErrNotConnected, ErrReplaced, ErrOfflineQueueFull, a JSON encoding error), or the
// connection it went out on was lost (ErrNotConnected), or the client was closed (ErrClosed), or
// the server refused it (a *ServerErrorReply, for example with Code "forbidden").
// A request with an error is over: Wait returns at once with what had arrived.
func (a *Ack) Err() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.err
}

// Wait blocks until the server's aggregated answer arrives, the timeout given at publication
// (plus a short grace) runs out, Cancel is called or the client is closed. It returns every
// response received, keyed by responder ID; an empty map when there were no subscribers.
func (a *Ack) Wait() map[string]AckResponse {
	responses, _ := a.WaitContext(context.Background())
	return responses
}

// WaitContext is Wait bounded by ctx. When ctx ends first it returns the responses received so
// far and ctx's error; the request itself goes on. When the server refused the request it
// returns the *ServerErrorReply.
func (a *Ack) WaitContext(ctx context.Context) (map[string]AckResponse, error) {
	select {
	case <-a.done:
		if outcome, _ := a.state(); outcome == ackRefused {
			return a.Responses(), a.Err()
		}
		return a.Responses(), nil
	case <-ctx.Done():
		return a.Responses(), ctx.Err()
	}
}

// WaitAny blocks until the first response arrives and returns it with true. It returns false
// when the request ends without any response (no subscribers, timeout, Cancel, Close).
// It does not consume the response: Wait still returns it.
func (a *Ack) WaitAny() (AckResponse, bool) {
	resp, ok, _ := a.WaitAnyContext(context.Background())
	return resp, ok
}

// WaitAnyContext is WaitAny bounded by ctx; when ctx ends first it returns false and ctx's error.
func (a *Ack) WaitAnyContext(ctx context.Context) (AckResponse, bool, error) {
	select {
	case <-a.firstArrived:
	case <-ctx.Done():
		return AckResponse{}, false, ctx.Err()
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.first == nil {
		return AckResponse{}, false, nil
	}
	return *a.first, true, nil
}

// Responses returns a copy of the responses received so far, without waiting.
func (a *Ack) Responses() map[string]AckResponse {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make(map[string]AckResponse, len(a.responses))
	for id, resp := range a.responses {
		out[id] = resp
	}
	return out
}

// Done returns a channel closed when the request is over.
func (a *Ack) Done() <-chan struct{} { return a.done }

// GetStatus asks the server which expected responders have answered (spec/protocol.md §6.5) and
// returns responder ID -> answered. Once the request is over, or when the server cannot be asked
// (offline), it returns what the client knows: every responder that answered, as true.
func (a *Ack) GetStatus() map[string]bool {
	ctx, cancel := context.WithTimeout(context.Background(), a.client.opts.RequestTimeout)
	defer cancel()
	status, _ := a.GetStatusContext(ctx)
	return status
}

// GetStatusContext is GetStatus bounded by ctx; when ctx ends first it returns the local status
// and ctx's error.
func (a *Ack) GetStatusContext(ctx context.Context) (map[string]bool, error) {
	status, _, err := a.client.ackStatus(ctx, a)
	return status, err
}

// IsComplete reports whether the request is over on the server: its aggregated answer arrived,
// or the server reports that every expected responder has answered. A cancelled, expired or
// unsent request is not complete.
func (a *Ack) IsComplete() bool {
	ctx, cancel := context.WithTimeout(context.Background(), a.client.opts.RequestTimeout)
	defer cancel()
	complete, _ := a.IsCompleteContext(ctx)
	return complete
}

// IsCompleteContext is IsComplete bounded by ctx.
func (a *Ack) IsCompleteContext(ctx context.Context) (bool, error) {
	if outcome, over := a.state(); over {
		return outcome == ackCompleted, nil
	}
	status, fromServer, err := a.client.ackStatus(ctx, a)
	if err != nil || !fromServer {
		if outcome, over := a.state(); over {
			return outcome == ackCompleted, nil
		}
		return false, err
	}
	if len(status) == 0 {
		return false, nil
	}
	for _, answered := range status {
		if !answered {
			return false, nil
		}
	}
	return true, nil
}

// Cancel ends the request at once: pending Wait and WaitAny calls return what has arrived, and
// the server is told to stop waiting (cancel_ack, spec/protocol.md §6.5). Calling it again, or
// after the request is over, does nothing.
func (a *Ack) Cancel() {
	if a.finish(ackCancelled, nil) {
		a.client.cancelAck(a)
	}
}
