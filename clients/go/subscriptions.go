package ksps

import (
	"sort"
	"sync"
	"sync/atomic"
)

// subscription is one Subscribe call: a topic, its callback, and the queue that runs the
// callback for this topic's messages in arrival order.
type subscription struct {
	topic    string
	callback func(Message, func())
	queue    serialQueue
	active   atomic.Bool
}

// subscriptionRegistry holds at most one subscription per topic; subscribing again replaces the
// callback, as in the original clients. It is the state restored after every reconnection, so a
// Subscribe made while offline is kept too.
type subscriptionRegistry struct {
	mu     sync.Mutex
	topics map[string]*subscription
	// joinLeave holds the topics subscribed with SubscribeOptions.JoinLeave (spec/protocol.md §15.3).
	joinLeave map[string]bool
}

// setJoinLeave records whether topic's subscribe frames ask for join/leave events.
func (r *subscriptionRegistry) setJoinLeave(topic string, on bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.joinLeave == nil {
		r.joinLeave = make(map[string]bool)
	}
	if on {
		r.joinLeave[topic] = true
	} else {
		delete(r.joinLeave, topic)
	}
}

// wantsJoinLeave tells whether topic's subscribe frames ask for join/leave events.
func (r *subscriptionRegistry) wantsJoinLeave(topic string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.joinLeave[topic]
}

func newSubscriptionRegistry() *subscriptionRegistry {
	return &subscriptionRegistry{topics: make(map[string]*subscription)}
}

// add registers callback for topic and returns the new subscription, replacing any previous one.
func (r *subscriptionRegistry) add(topic string, callback func(Message, func())) *subscription {
	sub := &subscription{topic: topic, callback: callback}
	sub.active.Store(true)
	r.mu.Lock()
	defer r.mu.Unlock()
	if old := r.topics[topic]; old != nil {
		old.active.Store(false)
	}
	r.topics[topic] = sub
	return sub
}

// remove drops the topic's subscription; it reports whether there was one.
func (r *subscriptionRegistry) remove(topic string) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	sub := r.topics[topic]
	if sub == nil {
		return false
	}
	sub.active.Store(false)
	delete(r.topics, topic)
	return true
}

// removeIf drops sub only if it is still the topic's current subscription, so that the unsub
// function of a replaced subscription does not remove its replacement.
func (r *subscriptionRegistry) removeIf(sub *subscription) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.topics[sub.topic] != sub {
		return false
	}
	sub.active.Store(false)
	delete(r.topics, sub.topic)
	return true
}

// get returns the topic's current subscription, or nil.
func (r *subscriptionRegistry) get(topic string) *subscription {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.topics[topic]
}

// topicSet returns the subscribed topics.
func (r *subscriptionRegistry) topicSet() map[string]bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	set := make(map[string]bool, len(r.topics))
	for topic := range r.topics {
		set[topic] = true
	}
	return set
}

// sortedTopics returns the keys of set in a stable order, so resubscription frames are
// deterministic.
func sortedTopics(set map[string]bool) []string {
	topics := make([]string, 0, len(set))
	for topic := range set {
		topics = append(topics, topic)
	}
	sort.Strings(topics)
	return topics
}

// runCallback calls fn and turns a panic into the error text of a failed ack (spec §6.1).
func runCallback(fn func()) (failure string, ok bool) {
	defer func() {
		if recovered := recover(); recovered != nil {
			failure, ok = callbackError(recovered), false
		}
	}()
	fn()
	return "", true
}
