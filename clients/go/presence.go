package ksps

import (
	"context"
	"fmt"
)

// Presence (spec/protocol.md §15): the Presence verb, SubscribeWithOptions and the OnJoin/OnLeave
// hooks. The session core (core_intents.go, core_frames.go) matches the reply by rid, keeps
// JoinLeave across reconnections and filters the join/leave events; this is the driver's side.

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
	// Since subscribes from a stream position (a topic with history, spec/protocol.md §14.3):
	// the server first delivers the kept publications after it, then confirms (OnSubscribed
	// tells whether nothing was missed), then the live stream follows with no gap and no
	// duplicate. Nil: the live stream only. After a reconnection the client recovers from the
	// latest position on its own; Since is for a position saved earlier (Client.Position).
	Since *StreamPosition
}

// Presence returns the members of topic on every node of the server (spec/protocol.md §15.2).
// It needs a connection (else ErrNotConnected; nothing is queued, the answer would be stale)
// and the subscribe permission for topic (else a *ServerErrorReply with Code "forbidden").
func (c *Client) Presence(ctx context.Context, topic string) (PresenceInfo, error) {
	if c.closed.Load() {
		return PresenceInfo{}, ErrClosed
	}
	if topic == "" {
		return PresenceInfo{}, fmt.Errorf("ksps: Presence needs a topic")
	}
	if err := ctx.Err(); err != nil {
		return PresenceInfo{}, err
	}
	c.mu.Lock()
	call := &pendingCall{reply: make(chan error, 1)}
	handle := c.newHandle()
	c.calls[handle] = call
	c.run(c.core.presence(c.now(), topic, handle))
	c.mu.Unlock()
	if err := c.await(ctx, handle, call); err != nil {
		return PresenceInfo{}, err
	}
	return call.info, nil
}

// SubscribeWithOptions is SubscribeContext with options: JoinLeave asks for the topic's join and
// leave events too, Since for the publications after a position first. JoinLeave is kept with
// the subscription and sent again on every reconnection, with the latest position instead of
// Since.
func (c *Client) SubscribeWithOptions(ctx context.Context, topic string, opts SubscribeOptions, callback func(msg Message, unsubscribe func())) (func(), error) {
	return c.subscribe(ctx, topic, callback, opts)
}

// member hands a join or leave event to OnJoin/OnLeave, in arrival order on the hooks'
// goroutine. Caller holds c.mu.
func (c *Client) member(ev *event) {
	hook := c.opts.OnJoin
	if ev.Type == evLeave {
		hook = c.opts.OnLeave
	}
	if hook != nil {
		topic, id := ev.Topic, ev.Member
		c.hooks.push(func() { runCallback(func() { hook(topic, id) }) })
	}
}
