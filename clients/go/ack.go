package ksps

import (
	"context"
	"fmt"
	"sync"
)

// Ack is the handle of a publication with acknowledgement (PublishWithAck, PublishToIDWithAck).
// The server aggregates the subscribers' answers into one ack_response (spec/protocol.md §6.2)
// and, because the client asks for it, reports each answer as it arrives (§6.3).
//
// What the handle knows is synchronous (IsComplete, GetStatus, Responses, Err, Cancel); what
// needs the server says so and takes a context (FetchStatus), the same rule as in the Python and
// JavaScript clients. Every method is safe for concurrent use and none panics, whatever the
// state of the connection. Wait and WaitAny may be called any number of times.
type Ack struct {
	id     string // the client ack ID; "" when the request was never made
	handle string // its name in the session core's events
	client *Client

	mu            sync.Mutex
	responses     map[string]AckResponse
	status        map[string]bool // the last status the server reported (FetchStatus)
	first         *AckResponse
	firstArrived  chan struct{} // closed with the first response, or when the request ends
	done          chan struct{} // closed when the request ends
	outcome       ackOutcome
	err           error
	statusWaiters []chan error // FetchStatus calls, oldest first
}

func newAck(client *Client) *Ack {
	return &Ack{
		client:       client,
		responses:    make(map[string]AckResponse),
		firstArrived: make(chan struct{}),
		done:         make(chan struct{}),
	}
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
		a.mu.Lock()
		refused := a.outcome == ackRefused
		a.mu.Unlock()
		if refused {
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

// GetStatus returns the last known status, without asking the server: responder ID ->
// answered, from the responses received and the last status FetchStatus obtained.
func (a *Ack) GetStatus() map[string]bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	status := make(map[string]bool, len(a.status)+len(a.responses))
	for id, answered := range a.status {
		status[id] = answered
	}
	for id := range a.responses {
		status[id] = true
	}
	return status
}

// IsComplete reports, without asking the server, whether the request is known to be complete:
// its aggregated answer arrived, or the last status FetchStatus obtained showed every expected
// responder as answered. A cancelled, expired, refused or unsent request is not complete.
func (a *Ack) IsComplete() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	switch a.outcome {
	case ackCompleted:
		return true
	case ackPending:
		if len(a.status) == 0 {
			return false
		}
		for id, answered := range a.status {
			if _, arrived := a.responses[id]; !answered && !arrived {
				return false
			}
		}
		return true
	}
	return false
}

// FetchStatus asks the server which expected responders have answered (get_ack_status, spec
// §6.5), remembers the answer (GetStatus, IsComplete) and returns the status. It returns an
// error wrapping ErrNotConnected when the server cannot be asked: offline, the request still
// waits in the offline queue, or it is over (the server forgot it); ctx's error when ctx ends
// first. With an error, the status returned is the last known one.
func (a *Ack) FetchStatus(ctx context.Context) (map[string]bool, error) {
	c := a.client
	reply := make(chan error, 1)
	c.mu.Lock()
	if c.acks[a.handle] != a {
		c.mu.Unlock()
		// Over: the server no longer knows it (spec §6.5); the last known state is final.
		return a.GetStatus(), fmt.Errorf("%w: the request is over", ErrNotConnected)
	}
	a.mu.Lock()
	a.statusWaiters = append(a.statusWaiters, reply)
	a.mu.Unlock()
	c.run(c.core.fetchStatus(c.now(), a.handle))
	c.mu.Unlock()
	select {
	case err := <-reply:
		return a.GetStatus(), err
	case <-ctx.Done():
		return a.GetStatus(), ctx.Err()
	}
}

// Cancel ends the request at once: pending Wait and WaitAny calls return what has arrived, and
// the server is told to stop waiting (cancel_ack, spec/protocol.md §6.5); a request still in the
// offline queue is withdrawn. Calling it again, or after the request is over, does nothing.
func (a *Ack) Cancel() {
	if a.handle == "" {
		return
	}
	a.client.input(func(s *session, now int64) []output { return s.cancelAck(now, a.handle) })
}

// record stores one responder's answer; the first one releases WaitAny.
func (a *Ack) record(resp AckResponse) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.outcome != ackPending {
		return
	}
	if _, seen := a.responses[resp.ClientID]; seen {
		return
	}
	a.responses[resp.ClientID] = resp
	if a.first == nil {
		stored := resp
		a.first = &stored
		close(a.firstArrived)
	}
}

// gotStatus records the server's answer to the oldest FetchStatus. An empty status means the
// server no longer knows the request: the last known status stays.
func (a *Ack) gotStatus(status map[string]bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if len(status) > 0 {
		a.status = status
	}
	a.answerStatus(nil)
}

// statusFailed answers the oldest FetchStatus with err (NotConnected).
func (a *Ack) statusFailed(err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.answerStatus(err)
}

func (a *Ack) answerStatus(err error) {
	if len(a.statusWaiters) > 0 {
		a.statusWaiters[0] <- err
		a.statusWaiters = a.statusWaiters[1:]
	}
}

// finish ends the request with outcome unless it is already over.
func (a *Ack) finish(outcome ackOutcome, err error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.outcome != ackPending {
		return
	}
	a.outcome, a.err = outcome, err
	if a.first == nil {
		close(a.firstArrived)
	}
	for _, w := range a.statusWaiters {
		w <- nil // the last known state is final
	}
	a.statusWaiters = nil
	close(a.done)
}
