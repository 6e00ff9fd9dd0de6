package ksps

import (
	"context"
	"errors"
	"fmt"
)

// Subscribe calls callback with every message published to topic, one message at a time, in
// arrival order, never on the connection's read goroutine. callback's second argument
// unsubscribes it. A panic in callback is recovered; for a publication with acknowledgement it
// becomes a failed ack carrying the panic's text.
//
// Subscribing to a topic again replaces its callback. The subscription is kept across
// reconnections, including one made while offline. When connected, Subscribe returns once the
// server answered (bounded by RequestTimeout). It returns the unsubscribe function.
// A subscription the server refuses (a *ServerErrorReply with Code "forbidden", for example) is
// dropped: SubscribeContext returns the refusal; Subscribe reports it to OnError.
func (c *Client) Subscribe(topic string, callback func(msg Message, unsubscribe func())) (unsubscribe func()) {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.RequestTimeout)
	defer cancel()
	unsubscribe, err := c.SubscribeContext(ctx, topic, callback)
	var refused *ServerErrorReply
	if errors.As(err, &refused) {
		c.reportError(refused)
	}
	return unsubscribe
}

// SubscribeContext is Subscribe bounded by ctx. It returns ErrClosed after Close (or why the
// client no longer connects), and ctx's error without subscribing when ctx is already done. A
// ctx that ends before the server answered returns ctx's error, but the subscription stays
// registered. A refusal by the server returns the *ServerErrorReply (spec/protocol.md §11) and drops
// the subscription; one made offline is refused after the next registration, through OnError.
func (c *Client) SubscribeContext(ctx context.Context, topic string, callback func(msg Message, unsubscribe func())) (func(), error) {
	return c.subscribe(ctx, topic, callback, SubscribeOptions{})
}

// subscribe is SubscribeContext with options (SubscribeWithOptions, presence.go).
func (c *Client) subscribe(ctx context.Context, topic string, callback func(msg Message, unsubscribe func()), opts SubscribeOptions) (func(), error) {
	if c.closed.Load() {
		return func() {}, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return func() {}, err
	}
	if callback == nil {
		return func() {}, fmt.Errorf("ksps: Subscribe(%q) needs a callback", topic)
	}
	if err := checkPosition("Subscribe", topic, opts.Since); err != nil {
		return func() {}, err
	}
	c.mu.Lock()
	sub := c.addCallback(topic, callback)
	call := &pendingCall{sub: sub, reply: make(chan error, 1)}
	handle := c.newHandle()
	c.calls[handle] = call
	registered := c.core.registered()
	c.run(c.core.subscribe(c.now(), topic, handle, opts.JoinLeave, opts.Since))
	if !registered && c.calls[handle] == call {
		call.detached = true // confirmed when the next connection restores it
	}
	c.mu.Unlock()
	unsubscribe := c.unsubscriber(sub)
	if call.detached {
		return unsubscribe, nil
	}
	if err := c.await(ctx, handle, call); err != nil {
		if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
			return unsubscribe, err
		}
		return func() {}, err
	}
	return unsubscribe, nil
}

// await waits for the answer to an intent; when ctx ends first the answer goes to OnError.
func (c *Client) await(ctx context.Context, handle string, call *pendingCall) error {
	select {
	case err := <-call.reply:
		return err
	case <-ctx.Done():
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	select {
	case err := <-call.reply:
		return err
	default:
	}
	call.detached = true
	return ctx.Err()
}

// Unsubscribe stops the delivery of topic's messages to this client. When connected it returns
// once the server answered (bounded by RequestTimeout).
func (c *Client) Unsubscribe(topic string) {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.RequestTimeout)
	defer cancel()
	_ = c.UnsubscribeContext(ctx, topic)
}

// UnsubscribeContext is Unsubscribe bounded by ctx; the topic is dropped locally even when ctx
// ends before the server answered.
func (c *Client) UnsubscribeContext(ctx context.Context, topic string) error {
	c.mu.Lock()
	if sub := c.callbacks[topic]; sub != nil {
		sub.active.Store(false)
		delete(c.callbacks, topic)
	}
	handle, call := c.unsubscribeLocked(topic)
	c.mu.Unlock()
	return c.await(ctx, handle, call)
}

// unsubscribeLocked asks the core to unsubscribe; the returned call gets the answer. Caller
// holds c.mu.
func (c *Client) unsubscribeLocked(topic string) (string, *pendingCall) {
	call := &pendingCall{reply: make(chan error, 1)}
	handle := c.newHandle()
	c.calls[handle] = call
	c.run(c.core.unsubscribe(c.now(), topic, handle))
	return handle, call
}

// unsubscriber returns the function that removes sub, and only sub: after a replacement it
// does nothing.
func (c *Client) unsubscriber(sub *subscription) func() {
	return func() {
		c.mu.Lock()
		if c.callbacks[sub.topic] != sub {
			c.mu.Unlock()
			return
		}
		sub.active.Store(false)
		delete(c.callbacks, sub.topic)
		handle, call := c.unsubscribeLocked(sub.topic)
		c.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), c.opts.RequestTimeout)
		defer cancel()
		if err := c.await(ctx, handle, call); err != nil {
			var refused *ServerErrorReply
			if errors.As(err, &refused) {
				c.reportError(refused)
			}
		}
	}
}
