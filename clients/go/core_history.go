package ksps

import (
	"encoding/json"
	"fmt"
)

// History and recovery in the session core (spec/protocol.md §14; the client side is pinned by
// spec/traces/history-read.json, recovery-restore.json and recovery-epoch-changed.json).
//
// The core remembers, per recorded topic, the stream position of the latest publication it
// delivered: set by a subscribe intent that carries since, by a subscribed reply that carries
// offset and epoch, moved by every delivery that carries an offset, forgotten by unsubscribe and
// by a refused subscription. A restore sends it as since, so the server replays what was missed;
// an explicit subscribe sends since only when the intent itself has one (a publication already
// in flight would otherwise come twice).

// position is the remembered stream position of topic: false when there is none.
func (s *session) position(topic string) (StreamPosition, bool) {
	pos, ok := s.positions[topic]
	return pos, ok
}

// sinceOf is the since member a subscribe frame carries for topic: nil without a position.
func (s *session) sinceOf(topic string) *wirePosition {
	pos, ok := s.positions[topic]
	if !ok {
		return nil
	}
	return &wirePosition{Offset: pos.Offset, Epoch: pos.Epoch}
}

// delivered moves topic's position to the offset of a delivery: the latest, not the highest (a
// new epoch starts again at 1), and with no dedup by offset, since the server sends no
// duplicate at the seam of a recovery (spec §14.3).
func (s *session) delivered(topic string, offset int64) {
	if pos, ok := s.positions[topic]; ok {
		pos.Offset = offset
		s.positions[topic] = pos
	}
}

// subscriptionEvent updates topic's position from a subscribed reply and returns the
// subscription event when the reply is history-aware (it has epoch or recovered); nil
// otherwise, so that servers and topics without history change nothing. A reply without a
// position (the engine could not answer) keeps the one remembered: the next reconnection still
// tries to recover. recovering tells that the subscribe frame carried since.
func (s *session) subscriptionEvent(topic string, e *envelope, recovering bool) *event {
	if !s.topics.has(topic) {
		return nil // unsubscribed while the reply was on its way
	}
	offset, hasOffset := wireInt(e.Offset)
	epoch, hasEpoch := wireString(e.Epoch)
	// Any recovered member makes the reply history-aware; only true means recovered (as the
	// Python core reads it).
	hasRecovered := len(e.Recovered) > 0 && string(e.Recovered) != "null"
	recovered, _ := wireBool(e.Recovered)
	if hasOffset && hasEpoch {
		s.positions[topic] = StreamPosition{Offset: offset, Epoch: epoch}
	}
	if !hasEpoch && !hasRecovered {
		return nil
	}
	ev := &event{Type: evSubscription, Topic: topic, Recovering: recovering, Recovered: recovered}
	if hasOffset {
		ev.Offset = &offset
	}
	if hasEpoch {
		ev.Epoch = &epoch
	}
	return ev
}

// history reads topic's kept publications (spec §14.4): a history event with handle answers,
// or refused with the server's error (code "no_history", "forbidden"); refused with
// NotConnected at once when not registered (nothing is queued: the answer would be stale), or
// when the connection is lost first. limit nil sends none; 0 asks for the position only.
func (s *session) history(now int64, topic, handle string, since *StreamPosition, limit *int, reverse bool) []output {
	if s.state == stateClosed {
		return []output{refusedEvent(handle, errClientClosed, "", s.stopped)}
	}
	if !s.registered() {
		offline := fmt.Errorf("%w: history needs a connection to the server", ErrNotConnected)
		return []output{refusedEvent(handle, errNotConnected, "", offline)}
	}
	req := s.requests.add(requestHistory, topic, handle)
	frame := &envelope{Action: actionHistory, Topic: topic, From: s.cfg.id, RID: req.rid, Limit: limit, Reverse: reverse}
	if since != nil {
		frame.Since = &wirePosition{Offset: since.Offset, Epoch: since.Epoch}
	}
	return []output{sendFrame(frame)}
}

// historyReply answers a history intent, matched by rid (spec §11.1).
func (s *session) historyReply(e *envelope) []output {
	req := s.requests.take(e.RID, e.Topic, requestHistory)
	if req == nil {
		return nil
	}
	offset, _ := wireInt(e.Offset)
	epoch, _ := wireString(e.Epoch)
	return []output{emit(&event{Type: evHistory, Handle: req.handle, Publications: readPublications(e.Publications),
		Offset: &offset, Epoch: &epoch})}
}

// historyItem is one publication of a history reply: the payload as published (not nested as
// in a delivery), its sender and its offset.
type historyItem struct {
	Data   json.RawMessage
	From   string
	Offset int64
}

// readPublications reads a history reply's publications leniently: a member that is not a list
// reads as none, an item that is not an object is left out, members of the wrong type read as
// empty (null data, "" sender, offset 0).
func readPublications(raw json.RawMessage) []historyItem {
	var items []json.RawMessage
	if json.Unmarshal(raw, &items) != nil {
		return []historyItem{}
	}
	out := make([]historyItem, 0, len(items))
	for _, item := range items {
		var members map[string]json.RawMessage
		if json.Unmarshal(item, &members) != nil || members == nil {
			continue
		}
		from, _ := wireString(members["from"])
		offset, _ := wireInt(members["offset"])
		out = append(out, historyItem{Data: members["data"], From: from, Offset: offset})
	}
	return out
}
