package ksps

import (
	"context"
	"fmt"
)

// Subscribe calls callback with every message published to topic, one message at a time, in
// arrival order, never on the connection's read goroutine. callback's second argument
// unsubscribes it. A panic in callback is recovered; for a publication with acknowledgement it
// becomes a failed ack carrying the panic's text.
//
// Subscribing to a topic again replaces its callback. The subscription is kept across
// reconnections, including one made while offline. When connected, Subscribe returns once the
// server processed the request (bounded by RequestTimeout). It returns the unsubscribe function.
func (c *Client) Subscribe(topic string, callback func(msg Message, unsubscribe func())) (unsubscribe func()) {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.RequestTimeout)
	defer cancel()
	unsubscribe, _ = c.SubscribeContext(ctx, topic, callback)
	return unsubscribe
}

// SubscribeContext is Subscribe bounded by ctx. It returns ErrClosed after Close, and ctx's error
// without subscribing when ctx is already done. A ctx that ends before the server confirmed
// returns ctx's error, but the subscription stays registered.
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
	sub := c.subs.add(topic, callback)
	conn, pong, err := c.requestLocked(actionSubscribe, topic)
	c.mu.Unlock()
	unsubscribe := c.unsubscriber(sub)
	if err != nil || pong == nil {
		return unsubscribe, err
	}
	return unsubscribe, conn.awaitPong(ctx, pong)
}

// Unsubscribe stops the delivery of topic's messages to this client. When connected it returns
// once the server processed the request (bounded by RequestTimeout).
func (c *Client) Unsubscribe(topic string) {
	ctx, cancel := context.WithTimeout(context.Background(), c.opts.RequestTimeout)
	defer cancel()
	_ = c.UnsubscribeContext(ctx, topic)
}

// UnsubscribeContext is Unsubscribe bounded by ctx; the topic is dropped locally even when ctx
// ends before the server confirmed.
func (c *Client) UnsubscribeContext(ctx context.Context, topic string) error {
	c.mu.Lock()
	c.subs.remove(topic)
	conn, pong, err := c.requestLocked(actionUnsubscribe, topic)
	c.mu.Unlock()
	if err != nil || pong == nil {
		return err
	}
	return conn.awaitPong(ctx, pong)
}

// unsubscriber returns the function that removes sub, and only sub: after a replacement it
// does nothing.
func (c *Client) unsubscriber(sub *subscription) func() {
	return func() {
		c.mu.Lock()
		removed := c.subs.removeIf(sub)
		var conn *connection
		var pong <-chan struct{}
		if removed {
			conn, pong, _ = c.requestLocked(actionUnsubscribe, sub.topic)
		}
		c.mu.Unlock()
		if pong != nil {
			ctx, cancel := context.WithTimeout(context.Background(), c.opts.RequestTimeout)
			defer cancel()
			_ = conn.awaitPong(ctx, pong)
		}
	}
}

// requestLocked sends a subscribe or unsubscribe frame followed by a ping whose pong confirms it
// was processed. Offline it sends nothing: registration restores the registry's state.
// The caller holds c.mu, which keeps the frame ordered with goOnline's reconciliation.
func (c *Client) requestLocked(action, topic string) (*connection, <-chan struct{}, error) {
	if c.closed.Load() {
		return nil, nil, ErrClosed
	}
	conn := c.conn.Load()
	if conn == nil {
		return nil, nil, nil
	}
	if err := conn.write(encodeFrame(&envelope{Action: action, Topic: topic, From: c.opts.ID})); err != nil {
		return nil, nil, nil // the connection broke: the next registration restores the state
	}
	pong, err := conn.ping(c.opts.ID)
	if err != nil {
		return nil, nil, nil
	}
	return conn, pong, nil
}
