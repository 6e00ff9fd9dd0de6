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
		c.closedForGood(ev)
	case evDelivery:
		c.deliverTopic(ev)
	case evDirect:
		c.deliverDirect(ev)
	case evSubscribed, evUnsubscribed:
		c.answered(ev.Handle, nil)
	case evRefused:
		if a := c.acks[ev.Handle]; a != nil {
			a.statusFailed(ev.Err) // a FetchStatus that cannot be answered; a refused request ends next
			return
		}
		c.answered(ev.Handle, ev.Err)
	case evAckResponse, evAckDone, evStatus:
		c.ackEvent(ev)
	case evError:
		c.reportError(c.errorOf(ev))
	case evQueueOverflow:
		c.reportError(ev.Err)
	case evPresence:
		if call := c.calls[ev.Handle]; call != nil {
			call.info = PresenceInfo{Count: ev.Count, IDs: ev.IDs, Truncated: ev.Truncated}
		}
		c.answered(ev.Handle, nil)
	case evJoin, evLeave:
		c.member(ev)
	case evSubscription:
		c.subscriptionConfirmed(ev)
	case evHistory:
		c.historyAnswered(ev)
	}
}

// errorOf is the Go error of an error event: a failed attempt carries its cause.
func (c *Client) errorOf(ev *event) error {
	var refused *ServerErrorReply
	if ev.Error == errConnectionFailed && !errors.As(ev.Err, &refused) {
		return c.connectionFailed()
	}
	return ev.Err
}

func (c *Client) disconnected(ev *event) {
	info := DisconnectInfo{Code: ev.Code, Reason: ev.Reason, Err: c.lastEnd.Err, Reconnecting: c.core.stopError() == nil}
	if c.opts.OnDisconnect != nil {
		c.hooks.push(func() { c.opts.OnDisconnect(info) })
	}
}

// closedForGood ends the client: NewClient, Run and OnClose learn it; pending handles end with
// the reason, later calls return it.
func (c *Client) closedForGood(ev *event) {
	reason := ev.Err
	var refused *ServerErrorReply
	switch {
	case errors.As(reason, &refused):
		c.settle(reason) // the registration was refused, e.g. with code "id_taken" (spec §10.6)
	case errors.Is(reason, ErrConnectionFailed):
		c.settle(c.connectionFailed())
	case errors.Is(reason, ErrAuth) && !c.core.everConnected:
		if !errors.Is(c.lastErr, ErrAuth) {
			c.lastErr = reason
		}
		c.settle(c.connectionFailed())
	default:
		c.settle(reason)
	}
	c.timer.Stop()
	for _, handle := range ev.Ended {
		if a := c.acks[handle]; a != nil {
			delete(c.acks, handle)
			a.finish(ackAborted, reason)
		}
	}
	for handle, call := range c.calls {
		delete(c.calls, handle)
		call.reply <- reason
	}
	close(c.over)
	if c.opts.OnClose != nil {
		c.hooks.push(c.opts.OnClose)
	}
}

// deliverTopic runs the topic's callback (spec §4.2), then answers a publish_ack with its
// outcome (§6.1): success, the panic's text, or "no subscriber for topic".
func (c *Client) deliverTopic(ev *event) {
	sub := c.callbacks[ev.Topic]
	if sub == nil {
		if ev.AckID != "" {
			c.run(c.core.answer(c.now(), ev.AckID, false, noSubscriberError))
		}
		return
	}
	msg := Message{Data: c.decoder.value(ev.Data), From: ev.From}
	if ev.Offset != nil {
		msg.Offset = *ev.Offset
	}
	ackID := ev.AckID
	sub.queue.push(func() {
		if !sub.active.Load() {
			c.answerAck(ackID, noSubscriberError, false)
			return
		}
		panicked, ok := runCallback(func() { sub.callback(msg, c.unsubscriber(sub)) })
		c.callbackDone(ackID, &CallbackError{Topic: sub.topic, Value: panicked}, ok)
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
		panicked, ok := runCallback(func() { c.opts.OnID(msg) })
		c.callbackDone(ackID, &CallbackError{Value: panicked}, ok)
	})
}

// callbackDone answers an acknowledged delivery with the callback's outcome, and reports a
// callback that panicked to OnError as a *CallbackError.
func (c *Client) callbackDone(serverAckID string, failure *CallbackError, ok bool) {
	if ok {
		c.answerAck(serverAckID, "", true)
		return
	}
	c.answerAck(serverAckID, callbackError(failure.Value), false)
	c.reportError(failure)
}

// answerAck sends a subscriber's answer; nothing for a delivery without acknowledgement.
func (c *Client) answerAck(serverAckID, failure string, ok bool) {
	if serverAckID == "" {
		return
	}
	c.input(func(s *session, now int64) []output { return s.answer(now, serverAckID, ok, failure) })
}

// answered hands the answer to a subscribe or unsubscribe intent to its caller. A refused
// subscription is dropped; when its caller no longer waits, the refusal goes to OnError.
func (c *Client) answered(handle string, err error) {
	call := c.calls[handle]
	if call == nil {
		if err != nil {
			c.reportError(err)
		}
		return
	}
	delete(c.calls, handle)
	if err != nil && call.sub != nil && c.callbacks[call.sub.topic] == call.sub {
		call.sub.active.Store(false)
		delete(c.callbacks, call.sub.topic)
	}
	if call.detached && err != nil {
		c.reportError(err)
		return
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
