package ksps

import (
	"sort"
	"time"
)

// The life of an Ack request, driven by the frames the dispatcher routes to it: ack_progress
// adds a response, ack_response completes it, ack_status answers GetStatus; Cancel, the local
// deadline and the client's end finish it.

// ackOutcome is how a request ended.
type ackOutcome int

const (
	ackPending   ackOutcome = iota
	ackCompleted            // the server's ack_response arrived
	ackCancelled            // Cancel was called
	ackExpired              // no final answer before the local deadline
	ackAborted              // the request could not be sent, or the client stopped
	ackRefused              // the server refused it with an error frame (a *ServerErrorReply)
)

// statusWaiter is a GetStatus call waiting for the ack_status reply on one connection.
type statusWaiter struct {
	conn  *connection
	reply chan map[string]bool
}

// ackGrace is how long after its own timeout the client waits for the server's final answer
// before giving up on a request (a lost connection, for example).
const ackGrace = 2 * time.Second

func newAck(client *Client, id string, timeout time.Duration) *Ack {
	return &Ack{
		id:             id,
		client:         client,
		serverDeadline: time.Now().Add(timeout),
		responses:      make(map[string]AckResponse),
		firstArrived:   make(chan struct{}),
		done:           make(chan struct{}),
	}
}

// state returns the outcome and whether the request is over.
func (a *Ack) state() (ackOutcome, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.outcome, a.outcome != ackPending
}

// localStatus is what the client knows without asking: the responders that answered.
func (a *Ack) localStatus() map[string]bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	status := make(map[string]bool, len(a.responses))
	for id := range a.responses {
		status[id] = true
	}
	return status
}

// setSentOn records the connection the request went out on (nil: not sent).
func (a *Ack) setSentOn(conn *connection) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.sentOn = conn
}

// wasSentOn reports whether the request went out on conn.
func (a *Ack) wasSentOn(conn *connection) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.sentOn == conn
}

// addResponse records one responder's answer from an ack_progress frame (§6.3).
func (a *Ack) addResponse(resp AckResponse) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.outcome != ackPending {
		return
	}
	a.record(resp)
}

// record stores resp; the first response releases WaitAny. Caller holds a.mu.
func (a *Ack) record(resp AckResponse) {
	key := resp.ClientID
	if _, seen := a.responses[key]; seen {
		return
	}
	a.responses[key] = resp
	if a.first == nil {
		stored := resp
		a.first = &stored
		close(a.firstArrived)
	}
}

// complete records the server's aggregated answer (§6.2) and ends the request.
func (a *Ack) complete(responses map[string]AckResponse) {
	a.mu.Lock()
	if a.outcome == ackPending {
		// Without ack_progress frames (an original server) there is no arrival order; take the
		// responders in ID order so WaitAny is at least deterministic.
		keys := make([]string, 0, len(responses))
		for key := range responses {
			keys = append(keys, key)
		}
		sort.Strings(keys)
		for _, key := range keys {
			resp := responses[key]
			if resp.ClientID == "" {
				resp.ClientID = key
			}
			a.record(resp)
		}
	}
	a.mu.Unlock()
	a.finish(ackCompleted, nil)
}

// startTimer arms the local deadline: the server's timeout plus ackGrace.
func (a *Ack) startTimer() {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.outcome != ackPending {
		return
	}
	a.timer = time.AfterFunc(time.Until(a.serverDeadline)+ackGrace, func() {
		if a.finish(ackExpired, nil) {
			a.client.cancelAck(a)
		}
	})
}

// finish ends the request with outcome unless it is already over, and reports whether it did.
func (a *Ack) finish(outcome ackOutcome, err error) bool {
	a.mu.Lock()
	if a.outcome != ackPending {
		a.mu.Unlock()
		return false
	}
	a.outcome = outcome
	a.err = err
	if a.timer != nil {
		a.timer.Stop()
	}
	if a.first == nil {
		close(a.firstArrived)
	}
	waiters := a.statusWaiters
	a.statusWaiters = nil
	close(a.done)
	a.mu.Unlock()
	for _, w := range waiters {
		close(w.reply)
	}
	a.client.acks.remove(a.id)
	return true
}

// awaitStatus registers a GetStatus call waiting for an ack_status reply on conn.
func (a *Ack) awaitStatus(conn *connection) (chan map[string]bool, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.outcome != ackPending {
		return nil, false
	}
	reply := make(chan map[string]bool, 1)
	a.statusWaiters = append(a.statusWaiters, statusWaiter{conn: conn, reply: reply})
	return reply, true
}

// deliverStatus hands an ack_status reply that arrived on conn to the oldest GetStatus call
// waiting on that connection; the server answers a connection's requests in order.
func (a *Ack) deliverStatus(conn *connection, status map[string]bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	kept := a.statusWaiters[:0]
	delivered := false
	for _, w := range a.statusWaiters {
		switch {
		case w.conn != conn:
			// A reply can no longer come on a connection that is gone.
			select {
			case <-w.conn.done:
				close(w.reply)
				continue
			default:
			}
		case !delivered:
			w.reply <- status
			delivered = true
			continue
		}
		kept = append(kept, w)
	}
	a.statusWaiters = kept
}
