package ksps_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	ksps "github.com/ksps-dev/ksps/clients/go"
)

// Credentials and refusals (spec/protocol.md §10, §11) against a real server with a JWT secret:
// Token and GetToken, *AuthError on 4003/4004/401, in-place refresh, and error frames matched
// to their request.

// A made-up HS256 secret for these tests only, and another one that the server does not know.
const (
	testSecret  = "go-test-secret-0123456789abcdef-0123"
	otherSecret = "another-secret-0123456789abcdef-0123"
)

// mint signs an HS256 token for sub that expires in ttl (at most 1 s less: exp is an integer),
// with extra claims, as an identity provider.
func mint(sub string, ttl time.Duration, secret string, claims map[string]any) string {
	body := map[string]any{"sub": sub, "exp": time.Now().Add(ttl).Unix()}
	for key, value := range claims {
		body[key] = value
	}
	enc := base64.RawURLEncoding
	head := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	payload, _ := json.Marshal(body)
	signing := head + "." + enc.EncodeToString(payload)
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil))
}

// tokenList is a GetToken handing out tokens in order, then the last one again.
func tokenList(calls *atomic.Int64, tokens ...string) func(context.Context) (string, error) {
	return func(context.Context) (string, error) {
		n := int(calls.Add(1)) - 1
		return tokens[min(n, len(tokens)-1)], nil
	}
}

func startAuthServer(t *testing.T) *serverProcess {
	return startTestServer(t, 0, "--jwt-secret", testSecret, "--jwt-leeway", "0")
}

func TestTokenRegistersItsSubjectAsTheID(t *testing.T) {
	server := startAuthServer(t)
	direct := make(chan ksps.Message, 1)
	alice := connect(t, ksps.ClientOptions{Address: server.Address, Token: mint("alice", time.Hour, testSecret, nil),
		OnID: func(msg ksps.Message) { direct <- msg }})
	if alice.ID() != "alice" {
		t.Fatalf("ID() = %q, want the token's sub", alice.ID())
	}
	bob := connect(t, ksps.ClientOptions{Address: server.Address, Token: mint("bob", time.Hour, testSecret, nil)})
	if err := bob.PublishToID("alice", "hi"); err != nil {
		t.Fatal(err)
	}
	if msg := receive(t, direct, "direct message"); msg.Data != "hi" {
		t.Fatalf("got %v", msg.Data)
	}
}

func TestGetTokenAloneRegistersTheSubjectOfItsFirstToken(t *testing.T) {
	server := startAuthServer(t)
	var calls atomic.Int64
	client := connect(t, ksps.ClientOptions{Address: server.Address,
		GetToken: tokenList(&calls, mint("carol", time.Hour, testSecret, nil))})
	if client.ID() != "carol" || !client.IsConnected() {
		t.Fatalf("ID() = %q, connected %v: want carol, connected", client.ID(), client.IsConnected())
	}
}

func TestRefusedTokenIsAnAuthError(t *testing.T) {
	server := startAuthServer(t)
	_, err := ksps.NewClient(ksps.ClientOptions{Address: server.Address, Token: mint("alice", time.Hour, otherSecret, nil)})
	var refused *ksps.AuthError
	if !errors.As(err, &refused) || refused.Code != ksps.CloseUnauthorized || !errors.Is(err, ksps.ErrAuth) {
		t.Fatalf("NewClient error = %v, want an *AuthError 4003", err)
	}
	if !errors.Is(err, ksps.ErrConnectionFailed) {
		t.Fatalf("NewClient error = %v, want it to wrap ErrConnectionFailed too", err)
	}
}

func TestHTTP401AtTheUpgradeIsAnAuthError(t *testing.T) {
	server := startAuthServer(t)
	_, err := ksps.NewClient(ksps.ClientOptions{Address: server.Address, Path: "/ws/bus?token=garbage"})
	var refused *ksps.AuthError
	if !errors.As(err, &refused) || refused.Code != 401 {
		t.Fatalf("NewClient error = %v, want an *AuthError 401", err)
	}
}

func TestExpiredTokenWithoutGetTokenClosesForGood(t *testing.T) {
	server := startAuthServer(t)
	ev := newEvents()
	closed := make(chan struct{})
	opts := ev.hook(ksps.ClientOptions{Address: server.Address, Token: mint("alice", 2*unit, testSecret, nil),
		ReconnectInitialDelay: 20 * time.Millisecond, ReconnectMaxDelay: 200 * time.Millisecond})
	opts.OnClose = func() { close(closed) }
	client := connect(t, opts)
	if info := receive(t, ev.disconnected, "disconnect"); info.Code != ksps.CloseTokenExpired || info.Reconnecting {
		t.Fatalf("disconnect = %+v, want 4004 without reconnection", info)
	}
	var refused *ksps.AuthError
	if err := ev.awaitError(t, ksps.ErrAuth); !errors.As(err, &refused) || refused.Code != ksps.CloseTokenExpired {
		t.Fatalf("OnError = %v, want an *AuthError 4004", err)
	}
	receive(t, closed, "OnClose")
	if err := client.Publish("news", 1); !errors.Is(err, ksps.ErrAuth) {
		t.Fatalf("Publish after the end = %v, want ErrAuth", err)
	}
}

func TestGetTokenIsAskedAgainAfterARefusal(t *testing.T) {
	server := startAuthServer(t)
	ev := newEvents()
	var calls atomic.Int64
	connect(t, ev.hook(ksps.ClientOptions{Address: server.Address, ID: "alice", Autorestart: true,
		GetToken:              tokenList(&calls, mint("alice", time.Hour, otherSecret, nil), mint("alice", time.Hour, testSecret, nil)),
		ReconnectInitialDelay: 20 * time.Millisecond, ReconnectMaxDelay: 200 * time.Millisecond}))
	ev.awaitError(t, ksps.ErrAuth)
	receive(t, ev.connected, "connect")
	if calls.Load() != 2 {
		t.Fatalf("GetToken called %d times, want 2", calls.Load())
	}
}

func TestTokenRefreshedInPlaceBeforeItExpires(t *testing.T) {
	server := startAuthServer(t)
	ev := newEvents()
	var calls atomic.Int64
	client := connect(t, ev.hook(ksps.ClientOptions{Address: server.Address, ID: "alice",
		GetToken: tokenList(&calls, mint("alice", 2*unit, testSecret, nil), mint("alice", time.Hour, testSecret, nil))}))
	callback, messages := collector()
	if _, err := client.SubscribeContext(context.Background(), "news", callback); err != nil {
		t.Fatal(err)
	}
	// Past the first token's exp, the connection is still the same one.
	select {
	case info := <-ev.disconnected:
		t.Fatalf("disconnected (%+v): the token was not refreshed in place", info)
	case <-time.After(5 * unit / 2):
	}
	if calls.Load() != 2 {
		t.Fatalf("GetToken called %d times, want 2", calls.Load())
	}
	if err := client.Publish("news", "still here"); err != nil {
		t.Fatal(err)
	}
	if msg := receive(t, messages, "message"); msg.Data != "still here" {
		t.Fatalf("got %v", msg.Data)
	}
}

func TestExpiredTokenWithGetTokenReconnectsAndKeepsSubscriptions(t *testing.T) {
	server := startAuthServer(t)
	ev := newEvents()
	var calls atomic.Int64
	short := mint("alice", 2*unit, testSecret, nil)
	client := connect(t, ev.hook(ksps.ClientOptions{Address: server.Address, ID: "alice",
		GetToken:              tokenList(&calls, short, short, mint("alice", time.Hour, testSecret, nil)),
		ReconnectInitialDelay: 20 * time.Millisecond, ReconnectMaxDelay: 200 * time.Millisecond}))
	callback, messages := collector()
	if _, err := client.SubscribeContext(context.Background(), "news", callback); err != nil {
		t.Fatal(err)
	}
	receive(t, ev.connected, "first connect")
	if info := receive(t, ev.disconnected, "disconnect"); info.Code != ksps.CloseTokenExpired || !info.Reconnecting {
		t.Fatalf("disconnect = %+v, want 4004 with reconnection", info)
	}
	receive(t, ev.connected, "reconnect")
	if calls.Load() != 3 {
		t.Fatalf("GetToken called %d times, want 3", calls.Load())
	}
	if err := client.Publish("news", "after refresh"); err != nil {
		t.Fatal(err)
	}
	if msg := receive(t, messages, "message"); msg.Data != "after refresh" {
		t.Fatalf("got %v", msg.Data)
	}
}

func TestRefusedSubscribeReturnsItsCodeAndIsNotKept(t *testing.T) {
	server := startAuthServer(t)
	client := connect(t, ksps.ClientOptions{Address: server.Address,
		Token: mint("alice", time.Hour, testSecret, map[string]any{"subscribe": []string{"public.*"}})})
	callback, messages := collector()
	_, err := client.SubscribeContext(context.Background(), "private", callback)
	var refused *ksps.ServerErrorReply
	if !errors.As(err, &refused) || refused.Code != "forbidden" || refused.Topic != "private" || refused.RID == "" {
		t.Fatalf("SubscribeContext error = %#v, want a forbidden *ServerErrorReply with topic and rid", err)
	}
	if _, err := client.SubscribeContext(context.Background(), "public.1", callback); err != nil {
		t.Fatal(err)
	}
	if err := client.Publish("public.1", "marker"); err != nil {
		t.Fatal(err)
	}
	if msg := receive(t, messages, "marker"); msg.Data != "marker" {
		t.Fatalf("got %v before the marker", msg.Data)
	}
}

func TestRefusedPublishReachesOnErrorAndRefusedAckEndsItsWait(t *testing.T) {
	server := startAuthServer(t)
	ev := newEvents()
	client := connect(t, ev.hook(ksps.ClientOptions{Address: server.Address,
		Token: mint("alice", time.Hour, testSecret, map[string]any{"publish": []string{"chat.*"}})}))
	if err := client.Publish("news", "not allowed"); err != nil {
		t.Fatal(err)
	}
	var refused *ksps.ServerErrorReply
	if err := receive(t, ev.errors, "OnError"); !errors.As(err, &refused) || refused.Code != "forbidden" || refused.Topic != "news" {
		t.Fatalf("OnError = %#v, want a forbidden *ServerErrorReply for topic news", err)
	}
	ack := client.PublishWithAck("news", "nor this", 2*unit)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if _, err := ack.WaitContext(ctx); !errors.As(err, &refused) || refused.Code != "forbidden" || refused.AckID != ack.ID() {
		t.Fatalf("WaitContext error = %#v, want the forbidden *ServerErrorReply of this ack", err)
	}
	if !errors.As(ack.Err(), &refused) {
		t.Fatalf("Err() = %v, want the refusal", ack.Err())
	}
}
