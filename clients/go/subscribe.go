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
// A subscription the server refuses (a *ServerError with Code "forbidden", for example) is
// dropped: SubscribeContext returns the refusal; Subscribe reports it to OnError.
func (c *Client) Subscribe(topic string, callback func(msg Message, unsubscribe func())) (unsubscribe func()) {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.RequestTimeout)
	defer cancel()
	unsubscribe, err := c.SubscribeContext(ctx, topic, callback)
	var refused *ServerError
	if errors.As(err, &refused) {
		c.reportError(refused)
	}
	return unsubscribe
}

// SubscribeContext is Subscribe bounded by ctx. It returns ErrClosed after Close, and ctx's error
// without subscribing when ctx is already done. A ctx that ends before the server answered
// returns ctx's error, but the subscription stays registered. A refusal by the server returns
// the *ServerError (spec/protocol.md §11) and drops the subscription.
func (c *Client) SubscribeContext(ctx context.Context, topic string, callback func(msg Message, unsubscribe func())) (func(), error) {
	if c.closed.Load() {
		return func() {}, ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return func() {}, err
	}
	if callback == nil {
		return func() {}, fmt.Errorf("ksps: Subscribe(%q) needs a callback", topic)
	}
	c.mu.Lock()
	handle := c.newHandle()
	out, sent, err := c.core.subscribe(topic, handle)
	if err != nil {
		c.mu.Unlock()
		return func() {}, err
	}
	sub := c.addCallback(topic, callback)
	call := &pendingCall{sub: sub, reply: make(chan error, 1)}
	if sent {
		c.calls[handle] = call
	}
	c.run(out)
	c.mu.Unlock()
	unsubscribe := c.unsubscriber(sub)
	if !sent {
		return unsubscribe, nil
	}
	select {
	case err := <-call.reply:
		var refused *ServerError
		if errors.As(err, &refused) {
			return func() {}, err
		}
		return unsubscribe, nil
	case <-ctx.Done():
		return unsubscribe, ctx.Err()
	}
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
	call, err := c.unsubscribeLocked(topic)
	c.mu.Unlock()
	if err != nil || call == nil {
		return err
	}
	return call.await(ctx)
}

// unsubscribeLocked drops topic's callback and asks the core to unsubscribe; the returned call
// (nil offline) gets the server's answer. Caller holds c.mu.
func (c *Client) unsubscribeLocked(topic string) (*pendingCall, error) {
	if sub := c.callbacks[topic]; sub != nil {
		sub.active.Store(false)
		delete(c.callbacks, topic)
	}
	handle := c.newHandle()
	out, sent, err := c.core.unsubscribe(topic, handle)
	if err != nil || !sent {
		if errors.Is(err, ErrClosed) {
			err = nil // nothing left to unsubscribe from
		}
		return nil, err
	}
	call := &pendingCall{reply: make(chan error, 1)}
	c.calls[handle] = call
	c.run(out)
	return call, nil
}

// await waits for the server's answer to an Unsubscribe.
func (p *pendingCall) await(ctx context.Context) error {
	select {
	case err := <-p.reply:
		var refused *ServerError
		if errors.As(err, &refused) {
			return err
		}
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// unsubscriber returns the function that removes sub, and only sub: after a replacement it
// does nothing.
func (c *Client) unsubscriber(sub *subscription) func() {
	return func() {
		c.mu.Lock()
		var call *pendingCall
		if c.callbacks[sub.topic] == sub {
			call, _ = c.unsubscribeLocked(sub.topic)
		}
		c.mu.Unlock()
		if call != nil {
			ctx, cancel := context.WithTimeout(context.Background(), c.opts.RequestTimeout)
			defer cancel()
			if err := call.await(ctx); err != nil {
				var refused *ServerError
				if errors.As(err, &refused) {
					c.reportError(refused)
				}
			}
		}
	}
}
