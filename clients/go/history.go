package ksps

import (
	"context"
	"fmt"
)

// History and recovery (spec/protocol.md §14): the History and Position verbs,
// SubscribeOptions.Since and the OnSubscribed hook. The session core (core_history.go) keeps the
// positions, sends them again on every reconnection and matches the replies; this is the
// driver's side.

// StreamPosition is a place in a topic's stream (spec/protocol.md §14.2): the offset of a
// publication and the epoch of the stream. Offsets start at 1 and are only comparable within
// one epoch; the epoch changes when the server lost the topic's history (a restart of a server
// that keeps it in memory, for example).
type StreamPosition struct {
	// Offset is the offset of the latest publication seen; 0 before the first one.
	Offset int64 `json:"offset"`
	// Epoch names the stream the offset belongs to; opaque.
	Epoch string `json:"epoch"`
}

// SubscriptionInfo is what ClientOptions.OnSubscribed receives when the server confirmed a
// subscription to a topic with history, on the first subscription and on every restore after
// a reconnection.
type SubscriptionInfo struct {
	// Position is the topic's stream position at the moment of subscribing, nil when the server
	// could not tell (its history engine did not answer; the client then keeps the position it
	// had, and tries to recover from it on the next reconnection).
	Position *StreamPosition
	// Recovering tells that the subscription asked for the publications missed since a
	// position: a restore after a reconnection, or SubscribeOptions.Since.
	Recovering bool
	// Recovered tells that nothing was missed: every publication after the position was
	// delivered before OnSubscribed is called. When Recovering is true and Recovered false,
	// something was lost for good (the epoch changed, the gap was too long): reload the state
	// from its source of truth, then apply the messages that follow.
	Recovered bool
}

// HistoryOptions are the options of History.
type HistoryOptions struct {
	// Since reads the publications after this position, oldest first (or, with Reverse, those
	// before it, newest first: paging backwards). A position of another epoch reads none
	// (compare HistoryPage.Epoch to see why). Nil: from the oldest kept publication (or the
	// newest, with Reverse).
	Since *StreamPosition
	// Limit is the most publications to return; nil: the server's cap (300 by default), 0: none,
	// only the position. Negative is an error.
	Limit *int
	// Reverse returns the newest first.
	Reverse bool
}

// HistoryPage is what History returns.
type HistoryPage struct {
	// Publications are the publications read, in the order asked; their Offset is set.
	Publications []Message
	// Offset is the offset of the topic's latest publication at the time of the read.
	Offset int64
	// Epoch is the topic's current epoch.
	Epoch string
}

// History reads the publications the server keeps for topic (spec/protocol.md §14.4). It needs
// a connection (else ErrNotConnected; nothing is queued, the answer would be stale), history on
// topic (else a *ServerErrorReply with Code "no_history", also when the server's history engine
// cannot answer) and the history permission (else a *ServerErrorReply with Code "forbidden").
// It returns ErrClosed after Close, and ctx's error when ctx ends first.
func (c *Client) History(ctx context.Context, topic string, opts HistoryOptions) (HistoryPage, error) {
	if c.closed.Load() {
		return HistoryPage{}, ErrClosed
	}
	if topic == "" {
		return HistoryPage{}, fmt.Errorf("ksps: History needs a topic")
	}
	if opts.Limit != nil && *opts.Limit < 0 {
		return HistoryPage{}, fmt.Errorf("ksps: History(%q): Limit must not be negative, got %d", topic, *opts.Limit)
	}
	if err := checkPosition("History", topic, opts.Since); err != nil {
		return HistoryPage{}, err
	}
	if err := ctx.Err(); err != nil {
		return HistoryPage{}, err
	}
	c.mu.Lock()
	call := &pendingCall{reply: make(chan error, 1)}
	handle := c.newHandle()
	c.calls[handle] = call
	c.run(c.core.history(c.now(), topic, handle, opts.Since, opts.Limit, opts.Reverse))
	c.mu.Unlock()
	if err := c.await(ctx, handle, call); err != nil {
		return HistoryPage{}, err
	}
	return call.page, nil
}

// Position returns the stream position of the latest message the client received on topic, a
// topic with history it subscribes to; false when it has none (no history on the topic, not
// subscribed, or unsubscribed, or the client closed). The client subscribes from it again after
// every reconnection; an application that saves it (before Close) can pass it later as
// SubscribeOptions.Since.
func (c *Client) Position(topic string) (StreamPosition, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.core.position(topic)
}

// checkPosition refuses a position the server would refuse: a negative offset.
func checkPosition(verb, topic string, pos *StreamPosition) error {
	if pos != nil && pos.Offset < 0 {
		return fmt.Errorf("ksps: %s(%q): a StreamPosition's Offset must not be negative, got %d", verb, topic, pos.Offset)
	}
	return nil
}

// historyAnswered hands a history reply to its History call. Caller holds c.mu.
func (c *Client) historyAnswered(ev *event) {
	if call := c.calls[ev.Handle]; call != nil {
		page := HistoryPage{Publications: make([]Message, 0, len(ev.Publications)), Offset: *ev.Offset, Epoch: *ev.Epoch}
		for _, p := range ev.Publications {
			page.Publications = append(page.Publications, Message{Data: c.decoder.value(p.Data), From: p.From, Offset: p.Offset})
		}
		call.page = page
	}
	c.answered(ev.Handle, nil)
}

// subscriptionConfirmed calls OnSubscribed. It runs on the topic's callback queue, in order
// with its messages: after the ones the server replayed, before the live ones, so that an
// application that reloads its state on Recovered false knows which messages follow. Caller
// holds c.mu.
func (c *Client) subscriptionConfirmed(ev *event) {
	hook := c.opts.OnSubscribed
	if hook == nil {
		return
	}
	topic := ev.Topic
	info := SubscriptionInfo{Recovering: ev.Recovering, Recovered: ev.Recovered}
	if ev.Offset != nil && ev.Epoch != nil {
		info.Position = &StreamPosition{Offset: *ev.Offset, Epoch: *ev.Epoch}
	}
	call := func() {
		if panicked, ok := runCallback(func() { hook(topic, info) }); !ok {
			c.reportError(&CallbackError{Topic: topic, Value: panicked, Hook: "OnSubscribed"})
		}
	}
	if sub := c.callbacks[topic]; sub != nil {
		sub.queue.push(call)
		return
	}
	c.hooks.push(call)
}
