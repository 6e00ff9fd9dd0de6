package ksps

import (
	"context"
	"fmt"
)

// register makes a new connection usable (spec/protocol.md §3.1, §4.1):
//
//  1. ping with the client ID and the token, if any, and wait for the pong: the server knows us
//     now (an error frame with the ping's rid refuses the registration, e.g. "id_taken");
//  2. subscribe to every topic of the registry, those made while offline included, then ping
//     again: the pong arrives after the server processed every subscribe, whatever it answered;
//  3. go online (goOnline): reconcile what changed meanwhile and flush the offline queue.
//
// Only then is the connection published to the API, so OnConnect means "subscriptions restored".
func (c *Client) register(ctx context.Context, conn *connection, token string) error {
	rid, refusal := conn.expectRefusal()
	pong, err := conn.ping(c.opts.ID, token, rid)
	if err != nil {
		return err
	}
	refused, err := conn.awaitAnswer(ctx, rid, pong, refusal)
	if err != nil {
		return err
	}
	if refused != nil {
		return fmt.Errorf("ksps: the server refused the registration: %w", refused)
	}
	sent := c.subs.topicSet()
	refusals := make(map[string]chan *ServerError, len(sent))
	for _, topic := range sortedTopics(sent) {
		rid, refusal := conn.expectRefusal()
		refusals[topic] = refusal
		defer conn.forget(rid)
		joinLeave := c.subs.wantsJoinLeave(topic)
		if err := conn.write(encodeFrame(&envelope{Action: actionSubscribe, Topic: topic, From: c.opts.ID, RID: rid, JoinLeave: joinLeave})); err != nil {
			return err
		}
	}
	if len(sent) > 0 {
		if err := c.pingAndWait(ctx, conn); err != nil {
			return err
		}
	}
	// A subscription the server now refuses (spec §10) is dropped and reported.
	for topic, refusal := range refusals {
		select {
		case refused := <-refusal:
			c.mu.Lock()
			c.subs.remove(topic)
			c.mu.Unlock()
			delete(sent, topic)
			c.reportError(refused)
		default:
		}
	}
	return c.goOnline(conn, sent)
}

func (c *Client) pingAndWait(ctx context.Context, conn *connection) error {
	pong, err := conn.ping(c.opts.ID, "", "")
	if err != nil {
		return err
	}
	return conn.awaitPong(ctx, pong)
}

// goOnline publishes conn to the API. Under the send lock it first sends the subscription
// changes made since sent was taken, then the publications queued offline, oldest first, so that
// they reach the server before any publication made after the switch.
func (c *Client) goOnline(conn *connection, sent map[string]bool) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return ErrClosed
	}
	current := c.subs.topicSet()
	for _, topic := range sortedTopics(current) {
		if !sent[topic] {
			if err := conn.write(encodeFrame(&envelope{Action: actionSubscribe, Topic: topic, From: c.opts.ID, JoinLeave: c.subs.wantsJoinLeave(topic)})); err != nil {
				return err
			}
		}
	}
	for _, topic := range sortedTopics(sent) {
		if !current[topic] {
			if err := conn.write(encodeFrame(&envelope{Action: actionUnsubscribe, Topic: topic, From: c.opts.ID})); err != nil {
				return err
			}
		}
	}
	for {
		item, ok := c.offline.peek()
		if !ok {
			break
		}
		if item.ack != nil {
			if _, over := item.ack.state(); over {
				c.offline.pop() // cancelled or expired while waiting
				continue
			}
		}
		item.markSent(conn)
		if err := conn.write(item.encode()); err != nil {
			item.markSent(nil)
			return err
		}
		c.offline.pop()
	}
	c.conn.Store(conn)
	c.wasOnline = true
	return nil
}
