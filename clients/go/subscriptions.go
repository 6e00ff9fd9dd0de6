package ksps

import "sync/atomic"

// subscription is one Subscribe call: a topic, its callback, and the queue that runs the
// callback for this topic's messages in arrival order. The topics themselves are the session
// core's registry; the client keeps at most one subscription per topic (subscribing again
// replaces the callback, as in the original clients).
type subscription struct {
	topic    string
	callback func(Message, func())
	queue    serialQueue
	active   atomic.Bool
}

// pendingCall is a subscribe or unsubscribe intent awaiting the server's answer: nil, or the
// error of a refusal (a *ServerErrorReply, or why the client no longer connects).
type pendingCall struct {
	sub   *subscription // the subscription a refusal drops; nil for Unsubscribe
	reply chan error    // buffered: the core's events never wait on it
	// detached: the caller no longer waits (offline intent, ctx over); a refusal goes to OnError.
	detached bool
	// info is the answer of a Presence call, set before reply gets nil.
	info PresenceInfo
	// page is the answer of a History call, set before reply gets nil.
	page HistoryPage
}

// addCallback makes callback the topic's subscription, replacing any previous one. Caller
// holds c.mu.
func (c *Client) addCallback(topic string, callback func(Message, func())) *subscription {
	sub := &subscription{topic: topic, callback: callback}
	sub.active.Store(true)
	if old := c.callbacks[topic]; old != nil {
		old.active.Store(false)
	}
	c.callbacks[topic] = sub
	return sub
}

// runCallback calls fn and turns a panic into the error text of a failed ack (spec §6.1).
func runCallback(fn func()) (panicked any, ok bool) {
	defer func() {
		if recovered := recover(); recovered != nil {
			panicked, ok = recovered, false
		}
	}()
	fn()
	return nil, true
}
