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
// server processed the request (bounded by RequestTimeout). It returns the unsubscribe function.
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
// without subscribing when ctx is already done. A ctx that ends before the server confirmed
// returns ctx's error, but the subscription stays registered. A refusal by the server returns
// the *ServerError (spec/protocol.md §11) and drops the subscription.
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
	c.mu.Lock()
	sub := c.subs.add(topic, callback)
	c.subs.setJoinLeave(topic, opts.JoinLeave)
	req, err := c.requestLocked(actionSubscribe, topic)
	c.mu.Unlock()
	unsubscribe := c.unsubscriber(sub)
	if err != nil || req.pong == nil {
		return unsubscribe, err
	}
	refused, err := req.await(ctx)
	if refused != nil {
		c.mu.Lock()
		c.subs.removeIf(sub)
		c.mu.Unlock()
		return func() {}, refused
	}
	return unsubscribe, err
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
	req, err := c.requestLocked(actionUnsubscribe, topic)
	c.mu.Unlock()
	if err != nil || req.pong == nil {
		return err
	}
	refused, err := req.await(ctx)
	if refused != nil {
		return refused
	}
	return err
}

// unsubscriber returns the function that removes sub, and only sub: after a replacement it
// does nothing.
func (c *Client) unsubscriber(sub *subscription) func() {
	return func() {
		c.mu.Lock()
		removed := c.subs.removeIf(sub)
		var req request
		if removed {
			req, _ = c.requestLocked(actionUnsubscribe, sub.topic)
		}
		c.mu.Unlock()
		if req.pong != nil {
			ctx, cancel := context.WithTimeout(context.Background(), c.opts.RequestTimeout)
			defer cancel()
			if refused, _ := req.await(ctx); refused != nil {
				c.reportError(refused)
			}
		}
	}
}

// request is a subscribe or unsubscribe on the wire: its rid, the pong of the barrier ping that
// follows it, and where a refusal arrives. A zero request (nil pong) was not sent.
type request struct {
	conn    *connection
	rid     string
	pong    <-chan struct{}
	refusal chan *ServerError
}

// await waits until the server processed the request; a refusal is returned as *ServerError.
func (r request) await(ctx context.Context) (*ServerError, error) {
	return r.conn.awaitAnswer(ctx, r.rid, r.pong, r.refusal)
}

// requestLocked sends a subscribe or unsubscribe frame with a rid, followed by a ping whose pong
// confirms it was processed. Offline it sends nothing: registration restores the registry's
// state. The caller holds c.mu, which keeps the frame ordered with goOnline's reconciliation.
func (c *Client) requestLocked(action, topic string) (request, error) {
	if c.closed.Load() {
		return request{}, ErrClosed
	}
	conn := c.conn.Load()
	if conn == nil {
		return request{}, nil
	}
	rid, refusal := conn.expectRefusal()
	joinLeave := action == actionSubscribe && c.subs.wantsJoinLeave(topic)
	if err := conn.write(encodeFrame(&envelope{Action: action, Topic: topic, From: c.opts.ID, RID: rid, JoinLeave: joinLeave})); err != nil {
		conn.forget(rid)
		return request{}, nil // the connection broke: the next registration restores the state
	}
	pong, err := conn.ping(c.opts.ID, "", "")
	if err != nil {
		conn.forget(rid)
		return request{}, nil
	}
	return request{conn: conn, rid: rid, pong: pong, refusal: refusal}, nil
}
