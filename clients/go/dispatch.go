package ksps

import "errors"

// dispatch tells the application an event of the core. Caller holds c.mu; nothing here blocks:
// callbacks go to their serial queues, answers to the calls waiting for them.
func (c *Client) dispatch(ev *event) {
	switch ev.Type {
	case evConnected:
		c.settle(nil)
		if c.opts.OnConnect != nil {
			c.hooks.push(c.opts.OnConnect)
		}
	case evDisconnected:
		c.disconnected(ev)
	case evReconnecting:
		c.settle(errStillTrying)
	case evClosed:
		c.closedForGood(ev.Err)
	case evDelivery:
		c.deliverTopic(ev)
	case evDirect:
		c.deliverDirect(ev)
	case evSubscribed, evUnsubscribed, evRefused:
		c.answered(ev)
	case evAckResponse, evAckDone, evStatus:
		c.ackEvent(ev)
	case evError:
		c.serverError(ev)
	case evQueueOverflow:
		c.reportError(ev.Err)
	}
}

func (c *Client) disconnected(ev *event) {
	info := DisconnectInfo{Code: ev.Code, Reason: ev.Reason, Reconnecting: c.core.stopError() == nil}
	if c.lastEnd.Code == ev.Code {
		info.Err = c.lastEnd.Err
	}
	if c.opts.OnDisconnect != nil {
		c.hooks.push(func() { c.opts.OnDisconnect(info) })
	}
}

// closedForGood ends the client: NewClient, Run and OnClose learn it, pending calls return.
func (c *Client) closedForGood(reason error) {
	if errors.Is(reason, ErrConnectionFailed) {
		c.settle(c.connectionFailed())
	} else if errors.Is(reason, ErrAuth) && !c.core.connected {
		if !errors.Is(c.lastErr, ErrAuth) {
			c.lastErr = reason
		}
		c.settle(c.connectionFailed())
	} else {
		c.settle(reason)
	}
	c.timer.Stop()
	c.releaseCalls(reason)
	close(c.over)
	if c.opts.OnClose != nil {
		c.hooks.push(c.opts.OnClose)
	}
}

func (c *Client) serverError(ev *event) {
	if ev.Topic != "" && !c.core.topics[ev.Topic] {
		// A subscription refused when it was restored (spec §10) is dropped.
		if sub := c.callbacks[ev.Topic]; sub != nil {
			sub.active.Store(false)
			delete(c.callbacks, ev.Topic)
		}
	}
	c.reportError(ev.Err)
}

// deliverTopic runs the topic's callback (spec §4.2), then answers a publish_ack with its
// outcome (§6.1): success, the panic's text, or "no subscriber for topic".
func (c *Client) deliverTopic(ev *event) {
	sub := c.callbacks[ev.Topic]
	if sub == nil {
		if ev.AckID != "" {
			c.run(c.core.answer(ev.AckID, false, noSubscriberError))
		}
		return
	}
	msg := Message{Data: c.decoder.value(ev.Data), From: ev.From}
	ackID := ev.AckID
	sub.queue.push(func() {
		if !sub.active.Load() {
			c.answerAck(ackID, noSubscriberError, false)
			return
		}
		failure, ok := c.runCallback(func() { sub.callback(msg, c.unsubscriber(sub)) })
		c.answerAck(ackID, failure, ok)
	})
}

// deliverDirect runs OnID for a direct message, and answers one with acknowledgement (§6.4).
func (c *Client) deliverDirect(ev *event) {
	msg := Message{Data: c.decoder.value(ev.Data), From: ev.From}
	ackID := ev.AckID
	c.direct.push(func() {
		if c.opts.OnID == nil {
			c.answerAck(ackID, noSubscriberError, false)
			return
		}
		failure, ok := c.runCallback(func() { c.opts.OnID(msg) })
		c.answerAck(ackID, failure, ok)
	})
}

// answerAck sends a subscriber's answer; nothing for a delivery without acknowledgement.
func (c *Client) answerAck(serverAckID, failure string, ok bool) {
	if serverAckID == "" {
		return
	}
	c.input(func(s *session, _ int64) []output { return s.answer(serverAckID, ok, failure) })
}

// runCallback calls fn, recovering a panic: its text is the failed ack's error (spec §6.1).
func (c *Client) runCallback(fn func()) (failure string, ok bool) {
	return runCallback(fn)
}

// answered hands a subscribed, unsubscribed or refused event to the call waiting for it.
func (c *Client) answered(ev *event) {
	call := c.calls[ev.Handle]
	if call == nil {
		return // an ack's refusal: the ack_done that follows ends the handle with it
	}
	delete(c.calls, ev.Handle)
	var err error
	if ev.Type == evRefused {
		err = ev.Err
		if call.sub != nil && c.callbacks[call.sub.topic] == call.sub {
			call.sub.active.Store(false)
			delete(c.callbacks, call.sub.topic)
		}
	}
	call.reply <- err
}

// ackEvent updates an ack handle.
func (c *Client) ackEvent(ev *event) {
	a := c.acks[ev.Handle]
	if a == nil {
		return
	}
	switch ev.Type {
	case evAckResponse:
		a.record(ev.Response)
	case evStatus:
		a.gotStatus(ev.Status)
	case evAckDone:
		delete(c.acks, ev.Handle)
		a.finish(ev.Outcome, ev.Err)
	}
}

// releaseCalls answers every call still waiting: the connection their answer would come on is
// gone (err nil: a subscription stays in the registry and is restored), or the client stopped.
func (c *Client) releaseCalls(err error) {
	for handle, call := range c.calls {
		delete(c.calls, handle)
		call.reply <- err
	}
}
