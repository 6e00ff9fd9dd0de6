package ksps

import (
	"context"
	"fmt"
	"sync"
)

// Presence (spec/protocol.md §15): Presence round trips, matched to their reply by rid, and the
// join/leave events of topics subscribed with SubscribeOptions{JoinLeave: true}.

const (
	actionPresence = "presence"
	actionJoin     = "join"
	actionLeave    = "leave"
)

// PresenceInfo is what Presence returns (spec/protocol.md §15.2).
type PresenceInfo struct {
	// Count is the number of registered clients subscribed to the topic, on every node.
	Count int
	// IDs are the smallest of their IDs, sorted; at most 1,000.
	IDs []string
	// Truncated tells that IDs does not list every member.
	Truncated bool
}

// SubscribeOptions are the options of SubscribeWithOptions.
type SubscribeOptions struct {
	// JoinLeave also asks for the topic's join and leave events, which go to
	// ClientOptions.OnJoin and OnLeave (spec/protocol.md §15.3). Default false.
	JoinLeave bool
}

// presenceKey names one Presence request: rids are counted per connection.
type presenceKey struct {
	conn *connection
	rid  string
}

// presenceWaiters holds the Presence requests waiting for their reply; the zero value is ready.
type presenceWaiters struct {
	mu      sync.Mutex
	waiting map[presenceKey]chan PresenceInfo
}

func (w *presenceWaiters) expect(key presenceKey) chan PresenceInfo {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.waiting == nil {
		w.waiting = make(map[presenceKey]chan PresenceInfo)
	}
	answer := make(chan PresenceInfo, 1)
	w.waiting[key] = answer
	return answer
}

func (w *presenceWaiters) answer(key presenceKey, info PresenceInfo) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if answer, ok := w.waiting[key]; ok {
		delete(w.waiting, key)
		answer <- info
	}
}

func (w *presenceWaiters) forget(key presenceKey) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.waiting, key)
}

// Presence returns the members of topic on every node of the server (spec/protocol.md §15.2).
// It needs a connection (else ErrNotConnected; nothing is queued, the answer would be stale)
// and the subscribe permission for topic (else a *ServerError with Code "forbidden").
func (c *Client) Presence(ctx context.Context, topic string) (PresenceInfo, error) {
	if c.closed.Load() {
		return PresenceInfo{}, ErrClosed
	}
	if topic == "" {
		return PresenceInfo{}, fmt.Errorf("ksps: Presence needs a topic")
	}
	conn := c.conn.Load()
	if conn == nil {
		return PresenceInfo{}, ErrNotConnected
	}
	rid, refusal := conn.expectRefusal()
	defer conn.forget(rid)
	key := presenceKey{conn, rid}
	answer := c.presence.expect(key)
	defer c.presence.forget(key)
	if err := conn.write(encodeFrame(&envelope{Action: actionPresence, Topic: topic, From: c.opts.ID, RID: rid})); err != nil {
		return PresenceInfo{}, fmt.Errorf("%w: %v", ErrNotConnected, err)
	}
	select {
	case info := <-answer:
		return info, nil
	case refused := <-refusal:
		return PresenceInfo{}, refused
	case <-conn.done:
		return PresenceInfo{}, fmt.Errorf("%w: connection lost", ErrNotConnected)
	case <-ctx.Done():
		return PresenceInfo{}, ctx.Err()
	}
}

// SubscribeWithOptions is SubscribeContext with options: JoinLeave asks for the topic's join and
// leave events too. The options are kept with the subscription and sent again on every
// reconnection.
func (c *Client) SubscribeWithOptions(ctx context.Context, topic string, opts SubscribeOptions, callback func(msg Message, unsubscribe func())) (func(), error) {
	return c.subscribe(ctx, topic, callback, opts)
}

// handlePresence routes the presence frames of the read loop: replies to Presence, and join and
// leave events to OnJoin/OnLeave, in arrival order on the hooks' goroutine.
func (c *Client) handlePresence(conn *connection, e *envelope) {
	switch e.Action {
	case actionPresence:
		c.presence.answer(presenceKey{conn, e.RID}, PresenceInfo{Count: e.Count, IDs: e.IDs, Truncated: e.Truncated})
	case actionJoin, actionLeave:
		hook := c.opts.OnJoin
		if e.Action == actionLeave {
			hook = c.opts.OnLeave
		}
		if hook != nil && e.Topic != "" && e.ID != "" {
			topic, id := e.Topic, e.ID
			c.hooks.push(func() { runCallback(func() { hook(topic, id) }) })
		}
	}
}
