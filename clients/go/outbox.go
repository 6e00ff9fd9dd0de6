package ksps

import (
	"fmt"
	"time"
)

// outgoing is a frame waiting to be written: a publication made while offline, or one being
// sent now. A request with acknowledgement keeps its handle, so that its timeout can be
// recomputed when it finally leaves and it can be withdrawn by Cancel.
type outgoing struct {
	frame envelope
	ack   *Ack
}

// markSent records on which connection an acknowledgement request went out (nil: it did not).
func (o *outgoing) markSent(conn *connection) {
	if o.ack != nil {
		o.ack.setSentOn(conn)
	}
}

// target names where the frame goes, for error messages.
func (o *outgoing) target() string {
	if o.frame.Topic != "" {
		return "topic " + o.frame.Topic
	}
	return "ID " + o.frame.To
}

// encode serialises the frame. For an acknowledgement request the `timeout` member is the time
// left until the caller's deadline, so a request that waited offline does not get extra time.
func (o *outgoing) encode() []byte {
	if o.ack != nil {
		left := time.Until(o.ack.serverDeadline).Milliseconds()
		o.frame.Timeout = max(left, 1)
	}
	return encodeFrame(&o.frame)
}

// offlineQueue is the bounded FIFO of publications made while the client is reconnecting.
// It is guarded by the client's send lock.
type offlineQueue struct {
	limit int
	items []outgoing
}

// push appends item. When the queue is full the policy picks the publication that is lost:
// OverflowReject returns ErrOfflineQueueFull and queues nothing; the drop policies return the
// dropped item (the oldest, or item itself).
func (q *offlineQueue) push(item outgoing, policy OverflowPolicy) (dropped *outgoing, err error) {
	if len(q.items) < q.limit {
		q.items = append(q.items, item)
		return nil, nil
	}
	switch {
	case policy == OverflowDropOldest && q.limit > 0:
		oldest := q.items[0]
		q.pop()
		q.items = append(q.items, item)
		return &oldest, nil
	case policy == OverflowDropNewest:
		return &item, nil
	}
	return nil, fmt.Errorf("%w (%d publications waiting); not sent", ErrOfflineQueueFull, len(q.items))
}

// peek returns the oldest item.
func (q *offlineQueue) peek() (outgoing, bool) {
	if len(q.items) == 0 {
		return outgoing{}, false
	}
	return q.items[0], true
}

// pop drops the oldest item once it was written.
func (q *offlineQueue) pop() {
	q.items[0] = outgoing{}
	q.items = q.items[1:]
	if len(q.items) == 0 {
		q.items = nil
	}
}

// withdraw removes the request of ack from the queue; it reports whether it was there.
func (q *offlineQueue) withdraw(ack *Ack) bool {
	for i, item := range q.items {
		if item.ack == ack {
			q.items = append(q.items[:i], q.items[i+1:]...)
			return true
		}
	}
	return false
}

// clear drops everything (Close).
func (q *offlineQueue) clear() { q.items = nil }

func (q *offlineQueue) len() int { return len(q.items) }
