package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	ksps "github.com/ksps-dev/ksps/clients/go"
)

// The commands of spec/conformance/ADAPTER.md, one client call each.

func (a *adapter) connect(raw json.RawMessage) (any, error) {
	var args struct {
		Address            string   `json:"address"`
		Path               string   `json:"path"`
		ID                 string   `json:"id"`
		Autorestart        bool     `json:"autorestart"`
		ReconnectInitialMS *float64 `json:"reconnect_initial_ms"`
		ReconnectMaxMS     *float64 `json:"reconnect_max_ms"`
		OfflineQueueSize   *int     `json:"offline_queue_size"`
		Token              string   `json:"token"`
		Tokens             []string `json:"tokens"`
	}
	if err := json.Unmarshal(raw, &args); err != nil {
		return nil, err
	}
	opts := ksps.ClientOptions{
		ID:          args.ID,
		Address:     args.Address,
		Path:        args.Path,
		Autorestart: args.Autorestart,
		// Payloads are echoed in events exactly as they arrived.
		UseNumber: true,
		OnID:      a.onID,
		OnConnect: func() { a.emit(map[string]any{"event": "connected"}) },
		OnDisconnect: func(info ksps.DisconnectInfo) {
			// ADAPTER.md: code and reason are null when no close frame came.
			var code, reason any = info.Code, info.Reason
			if info.Code == ksps.CloseAbnormal {
				code = nil
			}
			if info.Reason == "" {
				reason = nil
			}
			a.emit(map[string]any{"event": "disconnected", "code": code, "reason": reason})
		},
		OnError: func(err error) {
			a.emit(withErrorFields(map[string]any{"event": "error", "message": err.Error()}, err))
		},
		// -- presence (spec/protocol.md §15)
		OnJoin:  func(topic, id string) { a.emit(map[string]any{"event": "join", "topic": topic, "id": id}) },
		OnLeave: func(topic, id string) { a.emit(map[string]any{"event": "leave", "topic": topic, "id": id}) },
		// -- history (spec/protocol.md §14)
		OnSubscribed: a.onSubscribed,
		Token:        args.Token,
	}
	if len(args.Tokens) > 0 {
		var handed atomic.Int64
		opts.GetToken = func(context.Context) (string, error) {
			n := int(handed.Add(1)) - 1
			return args.Tokens[min(n, len(args.Tokens)-1)], nil
		}
	}
	if args.ReconnectInitialMS != nil {
		opts.ReconnectInitialDelay = millis(*args.ReconnectInitialMS)
	}
	if args.ReconnectMaxMS != nil {
		opts.ReconnectMaxDelay = millis(*args.ReconnectMaxMS)
	}
	if args.OfflineQueueSize != nil {
		opts.OfflineQueueSize = *args.OfflineQueueSize
	}
	client, err := ksps.NewClient(opts)
	if err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.client = client
	a.mu.Unlock()
	return map[string]any{"id": client.ID()}, nil
}

// onID emits a direct event, then behaves as set_on_id asked.
func (a *adapter) onID(msg ksps.Message) {
	a.emit(map[string]any{"event": "direct", "data": msg.Data, "from": msg.From})
	a.mu.Lock()
	mode, text := a.onIDMode, a.onIDErr
	a.mu.Unlock()
	if mode == "raise" {
		panic(errors.New(text))
	}
}

func (a *adapter) setOnID(raw json.RawMessage) (any, error) {
	var args struct {
		Behavior string `json:"behavior"`
		Error    string `json:"error"`
	}
	if err := json.Unmarshal(raw, &args); err != nil {
		return nil, err
	}
	a.mu.Lock()
	a.onIDMode, a.onIDErr = args.Behavior, args.Error
	a.mu.Unlock()
	return map[string]any{}, nil
}

func (a *adapter) subscribe(raw json.RawMessage) (any, error) {
	var args struct {
		Topic    string       `json:"topic"`
		Behavior string       `json:"behavior"`
		Error    string       `json:"error"`
		Since    *positionArg `json:"since"`
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
	opts := ksps.SubscribeOptions{Since: args.Since.position()}
	_, err = client.SubscribeWithOptions(ctx, args.Topic, opts, func(msg ksps.Message, unsubscribe func()) {
		a.emit(messageEvent(args.Topic, msg))
		switch args.Behavior {
		case "raise":
			panic(errors.New(args.Error))
		case "unsub":
			unsubscribe()
		}
	})
	if err != nil {
		return nil, err
	}
	return map[string]any{}, nil
}

func (a *adapter) unsubscribe(raw json.RawMessage) (any, error) {
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
	client.Unsubscribe(args.Topic)
	return map[string]any{}, nil
}

// publishArgs are the arguments of every publish command.
type publishArgs struct {
	Topic     string          `json:"topic"`
	To        string          `json:"to"`
	Addr      string          `json:"addr"`
	Data      json.RawMessage `json:"data"`
	TimeoutMS float64         `json:"timeout_ms"`
}

// parsePublish decodes the arguments; data is passed on as raw JSON, untouched.
func (a *adapter) parsePublish(raw json.RawMessage) (*ksps.Client, publishArgs, error) {
	var args publishArgs
	if err := json.Unmarshal(raw, &args); err != nil {
		return nil, args, err
	}
	if len(args.Data) == 0 {
		args.Data = json.RawMessage("null")
	}
	if args.TimeoutMS == 0 {
		args.TimeoutMS = 5000
	}
	client, err := a.needClient()
	return client, args, err
}

func (a *adapter) publish(raw json.RawMessage) (any, error) {
	client, args, err := a.parsePublish(raw)
	if err != nil {
		return nil, err
	}
	return map[string]any{}, client.Publish(args.Topic, args.Data)
}

func (a *adapter) publishToID(raw json.RawMessage) (any, error) {
	client, args, err := a.parsePublish(raw)
	if err != nil {
		return nil, err
	}
	return map[string]any{}, client.PublishToID(args.To, args.Data)
}

func (a *adapter) publishToServer(raw json.RawMessage) (any, error) {
	client, args, err := a.parsePublish(raw)
	if err != nil {
		return nil, err
	}
	return map[string]any{}, client.PublishToServer(args.Addr, args.Data)
}

func (a *adapter) publishWithAck(raw json.RawMessage) (any, error) {
	client, args, err := a.parsePublish(raw)
	if err != nil {
		return nil, err
	}
	return a.keep(client.PublishWithAck(args.Topic, args.Data, millis(args.TimeoutMS))), nil
}

func (a *adapter) publishToIDWithAck(raw json.RawMessage) (any, error) {
	client, args, err := a.parsePublish(raw)
	if err != nil {
		return nil, err
	}
	return a.keep(client.PublishToIDWithAck(args.To, args.Data, millis(args.TimeoutMS))), nil
}

// handleArg decodes {"handle": name} and finds the ack.
func (a *adapter) handleArg(raw json.RawMessage) (*ksps.Ack, error) {
	var args struct {
		Handle string `json:"handle"`
	}
	if err := json.Unmarshal(raw, &args); err != nil {
		return nil, err
	}
	return a.handle(args.Handle)
}

func (a *adapter) ackWait(raw json.RawMessage) (any, error) {
	ack, err := a.handleArg(raw)
	if err != nil {
		return nil, err
	}
	responses, err := ack.WaitContext(context.Background())
	if err != nil {
		return nil, err
	}
	return map[string]any{"responses": responses}, nil
}

func (a *adapter) ackWaitAny(raw json.RawMessage) (any, error) {
	ack, err := a.handleArg(raw)
	if err != nil {
		return nil, err
	}
	response, ok := ack.WaitAny()
	if !ok {
		return map[string]any{"response": nil, "ok": false}, nil
	}
	return map[string]any{"response": response, "ok": true}, nil
}

func (a *adapter) ackStatus(raw json.RawMessage) (any, error) {
	ack, err := a.handleArg(raw)
	if err != nil {
		return nil, err
	}
	return map[string]any{"status": ack.GetStatus()}, nil
}

func (a *adapter) ackIsComplete(raw json.RawMessage) (any, error) {
	ack, err := a.handleArg(raw)
	if err != nil {
		return nil, err
	}
	return map[string]any{"complete": ack.IsComplete()}, nil
}

func (a *adapter) ackCancel(raw json.RawMessage) (any, error) {
	ack, err := a.handleArg(raw)
	if err != nil {
		return nil, err
	}
	ack.Cancel()
	return map[string]any{}, nil
}

func (a *adapter) close(json.RawMessage) (any, error) {
	client, err := a.needClient()
	if err != nil {
		return nil, err
	}
	return map[string]any{}, client.Close()
}

// withErrorFields adds error_type, and code, topic, rid when err wraps an error that has them
// (spec/conformance/ADAPTER.md).
func withErrorFields(obj map[string]any, err error) map[string]any {
	var auth *ksps.AuthError
	var refused *ksps.ServerErrorReply
	switch {
	case errors.As(err, &auth):
		obj["error_type"] = "AuthError"
		obj["code"] = auth.Code
	case errors.As(err, &refused):
		obj["error_type"] = "ServerErrorReply"
		obj["code"], obj["topic"], obj["rid"] = refused.Code, refused.Topic, refused.RID
	default:
		obj["error_type"] = vocabularyName(err)
	}
	return obj
}

// sentinels are the client's errors in the order errors.Is tells them apart (ErrReplaced is also
// an ErrClosed), with their names in spec/vocabulary.toml.
var sentinels = []struct {
	err        error
	vocabulary string
	goName     string
}{
	{ksps.ErrReplaced, "ConnectionReplaced", "ErrReplaced"},
	{ksps.ErrClosed, "ClientClosed", "ErrClosed"},
	{ksps.ErrNotConnected, "NotConnected", "ErrNotConnected"},
	{ksps.ErrConnectionFailed, "ConnectionFailed", "ErrConnectionFailed"},
	{ksps.ErrOfflineQueueFull, "OfflineQueueFull", "ErrOfflineQueueFull"},
	{ksps.ErrAuth, "AuthError", "ErrAuth"},
}

// vocabularyName is the error_type of err: the vocabulary's name of the first sentinel it
// matches, CallbackError, else its Go type.
func vocabularyName(err error) string {
	for _, s := range sentinels {
		if errors.Is(err, s.err) {
			return s.vocabulary
		}
	}
	var callback *ksps.CallbackError
	if errors.As(err, &callback) {
		return "CallbackError"
	}
	return fmt.Sprintf("%T", err)
}

// vocabulary reports what the client really uses (spec/conformance/ADAPTER.md, scenario
// vocabulary.constants): its default constants (durations in ms), close codes and error names
// with the error each is a kind of (errors.Is).
func (a *adapter) vocabulary(json.RawMessage) (any, error) {
	ms := func(d time.Duration) int64 { return d.Milliseconds() }
	defaults := map[string]any{
		"path":                    ksps.DefaultPath,
		"reconnect_initial_delay": ms(ksps.DefaultReconnectInitialDelay),
		"reconnect_factor":        ksps.DefaultReconnectFactor,
		"reconnect_max_delay":     ms(ksps.DefaultReconnectMaxDelay),
		"offline_queue_size":      ksps.DefaultOfflineQueueSize,
		"keepalive_interval":      ms(ksps.DefaultKeepaliveInterval),
		"keepalive_timeout":       ms(ksps.DefaultKeepaliveTimeout),
		"connect_timeout":         ms(ksps.DefaultConnectTimeout),
		"ack_timeout":             ms(ksps.DefaultAckTimeout),
		"request_timeout":         ms(ksps.DefaultRequestTimeout),
		"write_timeout":           ms(ksps.DefaultWriteTimeout),
		"max_message_size":        ksps.DefaultMaxMessageSize,
	}
	closeCodes := map[string]int{
		"shutdown": ksps.CloseNormal, "protocol_error": ksps.CloseProtocolError, "abnormal": ksps.CloseAbnormal,
		"rate_limited": ksps.CloseRateLimited, "too_big": ksps.CloseTooBig, "replaced": ksps.CloseReplaced,
		"slow_consumer": ksps.CloseSlowConsumer, "unauthorized": ksps.CloseUnauthorized,
		"token_expired": ksps.CloseTokenExpired, "registration_timeout": ksps.CloseRegistrationTimeout,
	}
	classes := map[string]string{"AuthError": "", "ServerErrorReply": "", "CallbackError": ""}
	for _, s := range sentinels {
		classes[s.goName] = ""
		for _, other := range sentinels {
			if other.err != s.err && errors.Is(s.err, other.err) {
				classes[s.goName] = other.goName
			}
		}
	}
	// The typed errors exist (this compiles) and are errors.
	var _ error = (*ksps.ServerErrorReply)(nil)
	var _ error = (*ksps.CallbackError)(nil)
	var _ error = (*ksps.AuthError)(nil)
	return map[string]any{
		"language": "go", "client_defaults": defaults, "close_codes": closeCodes, "error_classes": classes,
	}, nil
}

// statusFetcher is the ack handle's FetchStatus (spec/vocabulary.toml), asked for dynamically so
// that the adapter builds against a client that does not have it yet (the scenario then fails).
type statusFetcher interface {
	FetchStatus(ctx context.Context) (map[string]bool, error)
}

func (a *adapter) ackFetchStatus(raw json.RawMessage) (any, error) {
	ack, err := a.handleArg(raw)
	if err != nil {
		return nil, err
	}
	fetcher, ok := any(ack).(statusFetcher)
	if !ok {
		return nil, errors.New("the Go client's Ack has no FetchStatus(ctx) (map[string]bool, error)")
	}
	status, err := fetcher.FetchStatus(context.Background())
	if err != nil {
		return nil, err
	}
	return map[string]any{"status": status}, nil
}
