package main

import (
	"context"
	"encoding/json"

	ksps "github.com/ksps-dev/ksps/clients/go"
)

// Presence commands (spec/conformance/ADAPTER.md; spec/protocol.md §15).

func (a *adapter) subscribeJoinLeave(raw json.RawMessage) (any, error) {
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
	ctx, cancel := context.WithTimeout(context.Background(), ksps.DefaultRequestTimeout)
	defer cancel()
	opts := ksps.SubscribeOptions{JoinLeave: true}
	_, err = client.SubscribeWithOptions(ctx, args.Topic, opts, func(msg ksps.Message, _ func()) {
		a.emit(messageEvent(args.Topic, msg))
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

func (a *adapter) presence(raw json.RawMessage) (any, error) {
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
	ctx, cancel := context.WithTimeout(context.Background(), ksps.DefaultRequestTimeout)
	defer cancel()
	info, err := client.Presence(ctx, args.Topic)
	if err != nil {
		return nil, err
	}
	ids := info.IDs
	if ids == nil {
		ids = []string{}
	}
	return map[string]any{"count": info.Count, "ids": ids, "truncated": info.Truncated}, nil
}
