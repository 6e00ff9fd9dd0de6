package ksps

import (
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
)

// ackTracker indexes the client's pending acknowledgement requests by their client-side ack ID,
// which the server echoes in ack_progress, ack_response and ack_status frames (spec §6).
type ackTracker struct {
	clientID string
	counter  atomic.Uint64

	mu      sync.Mutex
	pending map[string]*Ack
}

func newAckTracker(clientID string) *ackTracker {
	return &ackTracker{clientID: clientID, pending: make(map[string]*Ack)}
}

// nextID returns a new client ack ID, client_ack_<clientID>_<n> like the original clients.
// It is unique among this client's requests (spec §6.1).
func (t *ackTracker) nextID() string {
	return "client_ack_" + t.clientID + "_" + strconv.FormatUint(t.counter.Add(1), 10)
}

func (t *ackTracker) add(a *Ack) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.pending[a.id] = a
}

func (t *ackTracker) remove(id string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.pending, id)
}

// get returns the pending request with this ID, or nil when it is unknown or over.
func (t *ackTracker) get(id string) *Ack {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.pending[id]
}

// abortAll ends every pending request with err (the client stopped for good).
func (t *ackTracker) abortAll(err error) {
	t.mu.Lock()
	acks := make([]*Ack, 0, len(t.pending))
	for _, a := range t.pending {
		acks = append(acks, a)
	}
	t.mu.Unlock()
	for _, a := range acks {
		a.finish(ackAborted, fmt.Errorf("request abandoned: %w", err))
	}
}

// connectionLost ends the requests that went out on conn: the server forgets the requests of a
// connection that is gone, so their answer can never come (waiting would only run out the
// timeout). Requests still in the offline queue go on.
func (t *ackTracker) connectionLost(conn *connection) {
	t.mu.Lock()
	var lost []*Ack
	for _, a := range t.pending {
		if a.wasSentOn(conn) {
			lost = append(lost, a)
		}
	}
	t.mu.Unlock()
	for _, a := range lost {
		a.finish(ackAborted, fmt.Errorf("%w: connection lost before the answer", ErrNotConnected))
	}
}
