package ksps

import "strings"

// handleFrame is called by the read loop with every frame the server sends. It never blocks:
// callbacks go to their serial queues, answers to the requests waiting for them.
func (c *Client) handleFrame(conn *connection, frame []byte) {
	frames, err := decodeFrames(frame)
	if err != nil {
		c.reportError(err)
		return
	}
	for i := range frames {
		c.handleEnvelope(conn, &frames[i])
	}
}

func (c *Client) handleEnvelope(conn *connection, e *envelope) {
	switch e.Action {
	case actionPong:
		conn.gotPong()
	case actionPublish:
		c.deliverTopic(e)
	case actionPublishAck:
		c.deliverWithAck(conn, e)
	case actionDirectMessage:
		c.deliverDirect(c.decoder.directDelivery(e), nil)
	case actionAckProgress:
		if a := c.acks.get(e.AckID); a != nil {
			if resp, ok := decodeAckResponse(e.Data); ok {
				a.addResponse(resp)
			}
		}
	case actionAckResponse:
		if a := c.acks.get(e.AckID); a != nil {
			a.complete(e.Responses)
		}
	case actionAckStatus:
		if a := c.acks.get(e.AckID); a != nil {
			a.deliverStatus(conn, e.Status)
		}
	case actionError:
		c.routeError(conn, e)
	case actionPresence, actionJoin, actionLeave:
		c.handlePresence(conn, e)
	default:
		// subscribed, unsubscribed, published, ack_cancelled, server_message_sent carry nothing
		// the API waits for (the ping barrier confirms requests); unknown actions are ignored.
	}
}

// deliverTopic runs the topic's callback for a publish frame (spec/protocol.md §4.2).
func (c *Client) deliverTopic(e *envelope) {
	sub := c.subs.get(e.Topic)
	if sub == nil {
		return
	}
	msg := c.decoder.topicDelivery(e)
	sub.queue.push(func() {
		if sub.active.Load() {
			runCallback(func() { sub.callback(msg, c.unsubscriber(sub)) })
		}
	})
}

// deliverWithAck runs the callback of a publish_ack frame and answers with an ack once it
// returned (spec/protocol.md §6.1): success, the panic's text, or "no subscriber for topic".
// A delivery on this client's __direct_ topic goes to OnID (§6.4).
func (c *Client) deliverWithAck(conn *connection, e *envelope) {
	msg := c.decoder.topicDelivery(e)
	answer := func(failure string, ok bool) {
		c.sendIfConnected(conn, c.ackFrame(e.AckID, ok, failure))
	}
	if sub := c.subs.get(e.Topic); sub != nil {
		sub.queue.push(func() {
			if !sub.active.Load() {
				answer(noSubscriberError, false)
				return
			}
			answer(runCallback(func() { sub.callback(msg, c.unsubscriber(sub)) }))
		})
		return
	}
	if c.opts.OnID != nil && strings.HasPrefix(e.Topic, directTopicPrefix+c.opts.ID+"_") {
		c.deliverDirect(msg, answer)
		return
	}
	// Written from its own goroutine: the read loop never waits on the network.
	go answer(noSubscriberError, false)
}

// deliverDirect runs OnID for a direct message; answer, when not nil, acknowledges it.
func (c *Client) deliverDirect(msg Message, answer func(string, bool)) {
	c.direct.push(func() {
		if c.opts.OnID == nil {
			if answer != nil {
				answer(noSubscriberError, false)
			}
			return
		}
		failure, ok := runCallback(func() { c.opts.OnID(msg) })
		if answer != nil {
			answer(failure, ok)
		}
	})
}

// ackFrame builds a subscriber's answer to a publish_ack (spec/protocol.md §6.1).
func (c *Client) ackFrame(ackID string, success bool, failure string) *envelope {
	resp := AckResponse{AckID: ackID, ClientID: c.opts.ID, Success: success, Error: failure}
	data, _ := encodeData(resp)
	return &envelope{Action: actionAck, AckID: ackID, From: c.opts.ID, Data: data}
}

// routeError hands an error frame to the request it answers (spec/protocol.md §11): by rid
// (Subscribe, Unsubscribe, the registration and token refresh pings), else by the client's ack
// ID (a refused PublishWithAck); any other one, for example a refused Publish named by its
// Topic, goes to OnError.
func (c *Client) routeError(conn *connection, e *envelope) {
	refusal := &ServerError{Text: e.Error, Code: e.Code, Topic: e.Topic, RID: e.RID, AckID: e.AckID}
	if e.RID != "" && conn.refuse(e.RID, refusal) {
		return
	}
	if a := c.acks.get(e.AckID); e.AckID != "" && a != nil {
		a.finish(ackRefused, refusal)
		return
	}
	c.reportError(refusal)
}
