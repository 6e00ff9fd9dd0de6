package main

import (
	"context"
	"encoding/json"

	ksps "github.com/ksps-dev/ksps/clients/go"
)

// History and recovery commands and events (spec/conformance/ADAPTER.md; spec/protocol.md §14).

// positionArg is a since argument: {"offset", "epoch"}.
type positionArg struct {
	Offset int64  `json:"offset"`
	Epoch  string `json:"epoch"`
}

func (p *positionArg) position() *ksps.StreamPosition {
	if p == nil {
		return nil
	}
	return &ksps.StreamPosition{Offset: p.Offset, Epoch: p.Epoch}
}

// positionJSON is a position as the adapter reports it; null for none.
func positionJSON(pos *ksps.StreamPosition) any {
	if pos == nil {
		return nil
	}
	return map[string]any{"offset": pos.Offset, "epoch": pos.Epoch}
}

// messageEvent is the message event of a Subscribe callback: offset when the message has one.
func messageEvent(topic string, msg ksps.Message) map[string]any {
	event := map[string]any{"event": "message", "topic": topic, "data": msg.Data, "from": msg.From}
	if msg.Offset != 0 {
		event["offset"] = msg.Offset
	}
	return event
}

// onSubscribed emits the subscribed event of the OnSubscribed hook.
func (a *adapter) onSubscribed(topic string, info ksps.SubscriptionInfo) {
	event := map[string]any{"event": "subscribed", "topic": topic, "recovering": info.Recovering, "recovered": info.Recovered}
	if info.Position != nil {
		event["offset"], event["epoch"] = info.Position.Offset, info.Position.Epoch
	}
	a.emit(event)
}

func (a *adapter) history(raw json.RawMessage) (any, error) {
	var args struct {
		Topic   string       `json:"topic"`
		Since   *positionArg `json:"since"`
		Limit   *int         `json:"limit"`
		Reverse bool         `json:"reverse"`
	}
	if err := json.Unmarshal(raw, &args); err != nil {
		return nil, err
	}
	client, err := a.needClient()
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), ksps.DefaultRequestTimeout)
	defer cancel()
	page, err := client.History(ctx, args.Topic, ksps.HistoryOptions{Since: args.Since.position(), Limit: args.Limit, Reverse: args.Reverse})
	if err != nil {
		return nil, err
	}
	publications := make([]map[string]any, 0, len(page.Publications))
	for _, msg := range page.Publications {
		publications = append(publications, map[string]any{"data": msg.Data, "from": msg.From, "offset": msg.Offset})
	}
	return map[string]any{"publications": publications, "offset": page.Offset, "epoch": page.Epoch}, nil
}

func (a *adapter) position(raw json.RawMessage) (any, error) {
	var args struct {
		Topic string `json:"topic"`
	}
	if err := json.Unmarshal(raw, &args); err != nil {
		return nil, err
	}
	client, err := a.needClient()
	if err != nil {
		return nil, err
	}
	if pos, ok := client.Position(args.Topic); ok {
		return map[string]any{"position": positionJSON(&pos)}, nil
	}
	return map[string]any{"position": nil}, nil
}
