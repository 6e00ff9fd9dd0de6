package ksps_test

import (
	"errors"
	"net"
	"runtime"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	ksps "github.com/ksps-dev/ksps/clients/go"
)

// fastReconnect are reconnection delays that keep the tests quick. Reconnection itself is on
// by default.
func fastReconnect(opts ksps.ClientOptions) ksps.ClientOptions {
	opts.ReconnectInitialDelay = unit / 20
	opts.ReconnectMaxDelay = unit / 5
	return opts
}

func TestReconnectAfterServerRestartRestoresEverything(t *testing.T) {
	first := startTestServer(t, 0)
	ev := newEvents()
	client := connect(t, ev.hook(fastReconnect(ksps.ClientOptions{Address: first.Address, ID: "restart-client"})))
	receive(t, ev.connected, "first OnConnect")
	before, gotBefore := collector()
	client.Subscribe("before", before)

	first.stop()
	info := receive(t, ev.disconnected, "OnDisconnect")
	if info.Code != ksps.CloseNormal || !info.Reconnecting {
		t.Errorf("disconnection = %+v, want a graceful close with reconnection", info)
	}
	if client.IsConnected() {
		t.Error("IsConnected while the server is down")
	}
	// Made while offline: kept for the next connection.
	during, gotDuring := collector()
	client.Subscribe("during", during)
	if err := client.Publish("before", "queued while offline"); err != nil {
		t.Fatalf("Publish while reconnecting: %v", err)
	}
	queuedAck := client.PublishWithAck("during", "queued ack", 5*unit)

	second := startTestServer(t, first.Port)
	receive(t, ev.connected, "OnConnect after the restart")
	if !client.IsConnected() {
		t.Error("not connected after OnConnect")
	}
	if msg := receive(t, gotBefore, "queued publication"); msg.Data != "queued while offline" || msg.From != "restart-client" {
		t.Errorf("queued publication arrived as %#v", msg)
	}
	if responses := queuedAck.Wait(); !responses["restart-client"].Success {
		t.Errorf("queued ack request: %v, %v", responses, queuedAck.Err())
	}
	receive(t, gotDuring, "queued ack delivery")

	other := connect(t, ksps.ClientOptions{Address: second.Address})
	_ = other.Publish("before", "from other")
	_ = other.Publish("during", "from other")
	if msg := receive(t, gotBefore, "subscription restored"); msg.Data != "from other" {
		t.Errorf("got %#v", msg)
	}
	if msg := receive(t, gotDuring, "subscription made offline"); msg.Data != "from other" {
		t.Errorf("got %#v", msg)
	}
}

func TestReconnectAfterAbruptServerDeath(t *testing.T) {
	first := startTestServer(t, 0)
	ev := newEvents()
	client := connect(t, ev.hook(fastReconnect(ksps.ClientOptions{Address: first.Address})))
	receive(t, ev.connected, "first OnConnect")
	cb, got := collector()
	client.Subscribe("t", cb)
	holder := connect(t, ksps.ClientOptions{Address: first.Address})
	entered, release := blockingSubscriber(t, holder, "held")
	defer close(release)
	pending := client.PublishWithAck("held", 1, 30*unit)
	receive(t, entered, "held subscriber called")

	first.kill()
	if info := receive(t, ev.disconnected, "OnDisconnect"); info.Code != ksps.CloseAbnormal || info.Err == nil || !info.Reconnecting {
		t.Errorf("disconnection = %+v, want 1006 with an error, reconnecting", info)
	}
	// The server forgot the request with the connection: it ends now, not at its timeout.
	receive(t, asyncWait(pending), "request of the lost connection released")
	if !errors.Is(pending.Err(), ksps.ErrNotConnected) {
		t.Errorf("Err of a request whose connection was lost: %v", pending.Err())
	}
	second := startTestServer(t, first.Port)
	receive(t, ev.connected, "OnConnect after the restart")
	other := connect(t, ksps.ClientOptions{Address: second.Address})
	_ = other.Publish("t", "after")
	receive(t, got, "delivery after reconnection")
}

func TestOfflineQueueOverflowIsReported(t *testing.T) {
	server := startTestServer(t, 0)
	ev := newEvents()
	opts := fastReconnect(ksps.ClientOptions{
		Address: server.Address, OfflineQueueSize: 2, OfflineQueuePolicy: ksps.OverflowReject,
	})
	client := connect(t, ev.hook(opts))
	receive(t, ev.connected, "OnConnect")
	server.stop()
	receive(t, ev.disconnected, "OnDisconnect")

	for i := 0; i < 2; i++ {
		if err := client.Publish("t", i); err != nil {
			t.Fatalf("publication %d should fit the queue: %v", i, err)
		}
	}
	if err := client.Publish("t", 2); !errors.Is(err, ksps.ErrOfflineQueueFull) {
		t.Fatalf("third publication: %v, want ErrOfflineQueueFull", err)
	}
	if ack := client.PublishWithAck("t", 3, unit); !errors.Is(ack.Err(), ksps.ErrOfflineQueueFull) {
		t.Errorf("ack request on a full queue: %v", ack.Err())
	}
	ev.awaitError(t, ksps.ErrOfflineQueueFull)
}

func TestOfflineQueueDropPolicies(t *testing.T) {
	for _, c := range []struct {
		policy ksps.OverflowPolicy
		want   []any
	}{
		{ksps.OverflowDropOldest, []any{2.0, 3.0}},
		{ksps.OverflowDropNewest, []any{1.0, 2.0}},
	} {
		server := startTestServer(t, 0)
		ev := newEvents()
		opts := fastReconnect(ksps.ClientOptions{Address: server.Address, OfflineQueueSize: 2, OfflineQueuePolicy: c.policy})
		client := connect(t, ev.hook(opts))
		receive(t, ev.connected, "OnConnect")
		cb, got := collector()
		client.Subscribe("q", cb)
		server.stop()
		receive(t, ev.disconnected, "OnDisconnect")
		for _, n := range []int{1, 2, 3} {
			if err := client.Publish("q", n); err != nil {
				t.Errorf("policy %v: Publish(%d) = %v", c.policy, n, err)
			}
		}
		ev.awaitError(t, ksps.ErrOfflineQueueFull)
		startTestServer(t, server.Port)
		receive(t, ev.connected, "OnConnect after restart")
		// A marker published after the queue was flushed proves nothing else is coming.
		_ = client.Publish("q", "marker")
		var delivered []any
		for {
			msg := receive(t, got, "queued publications")
			if msg.Data == "marker" {
				break
			}
			delivered = append(delivered, msg.Data)
		}
		if len(delivered) != len(c.want) || delivered[0] != c.want[0] || delivered[1] != c.want[1] {
			t.Errorf("policy %v delivered %v, want %v", c.policy, delivered, c.want)
		}
		_ = client.Close()
	}
}

func TestOfflineQueueCanBeDisabled(t *testing.T) {
	server := startTestServer(t, 0)
	ev := newEvents()
	client := connect(t, ev.hook(fastReconnect(ksps.ClientOptions{Address: server.Address, OfflineQueueSize: -1})))
	receive(t, ev.connected, "OnConnect")
	server.stop()
	receive(t, ev.disconnected, "OnDisconnect")
	if err := client.Publish("t", 1); !errors.Is(err, ksps.ErrNotConnected) {
		t.Errorf("Publish offline without a queue: %v", err)
	}
}

func TestFirstConnectionFailure(t *testing.T) {
	port := freePort(t)
	address := "127.0.0.1:" + strconv.Itoa(port)
	start := time.Now()
	_, err := ksps.NewClient(ksps.ClientOptions{Address: address})
	if !errors.Is(err, ksps.ErrConnectionFailed) {
		t.Fatalf("NewClient without a server: %v", err)
	}
	if elapsed := time.Since(start); elapsed > 2*unit {
		t.Errorf("failing took %v", elapsed)
	}

	// With Autorestart the client keeps trying and queues meanwhile.
	ev := newEvents()
	client := connect(t, ev.hook(fastReconnect(ksps.ClientOptions{Address: address, ID: "patient", Autorestart: true})))
	if client.IsConnected() {
		t.Fatal("connected without a server")
	}
	if err := receive(t, ev.errors, "OnError for the failed attempt"); !errors.Is(err, ksps.ErrConnectionFailed) {
		t.Errorf("first error: %v", err)
	}
	cb, got := collector()
	client.Subscribe("t", cb)
	_ = client.Publish("t", "sent before the server existed")
	startTestServer(t, port)
	receive(t, ev.connected, "OnConnect once the server runs")
	if msg := receive(t, got, "queued publication"); msg.Data != "sent before the server existed" {
		t.Errorf("got %#v", msg)
	}
}

func TestReplacedConnectionDoesNotReconnect(t *testing.T) {
	ev := newEvents()
	closed := make(chan struct{})
	opts := ev.hook(fastReconnect(ksps.ClientOptions{ID: "same-id"}))
	opts.OnClose = func() { close(closed) }
	first := connect(t, opts)
	receive(t, ev.connected, "OnConnect")
	connect(t, ksps.ClientOptions{ID: "same-id"})

	info := receive(t, ev.disconnected, "OnDisconnect of the replaced client")
	if info.Code != ksps.CloseReplaced || info.Reconnecting {
		t.Errorf("disconnection = %+v, want 4001 without reconnection", info)
	}
	ev.awaitError(t, ksps.ErrReplaced)
	// OnClose comes once the supervisor decided to stop: no reconnection can follow.
	receive(t, closed, "OnClose: closed for good")
	if err := first.Publish("t", 1); !errors.Is(err, ksps.ErrReplaced) {
		t.Errorf("Publish after 4001: %v", err)
	}
	if responses := first.PublishWithAck("t", 1, unit).Wait(); len(responses) != 0 {
		t.Errorf("Wait after 4001: %v", responses)
	}
	if first.IsConnected() || len(ev.connected) != 0 {
		t.Error("the replaced client reconnected")
	}
}

func TestLostConnectionWithDisableReconnectIsFinal(t *testing.T) {
	server := startTestServer(t, 0)
	ev := newEvents()
	closed := make(chan struct{})
	opts := ev.hook(ksps.ClientOptions{Address: server.Address, DisableReconnect: true})
	opts.OnClose = func() { close(closed) }
	client := connect(t, opts)
	receive(t, ev.connected, "OnConnect")
	sub := connect(t, ksps.ClientOptions{Address: server.Address})
	entered, release := blockingSubscriber(t, sub, "t")
	defer close(release)
	pending := client.PublishWithAck("t", 1, 30*unit)
	receive(t, entered, "subscriber called")

	server.kill()
	if info := receive(t, ev.disconnected, "OnDisconnect"); info.Reconnecting {
		t.Errorf("disconnection = %+v, want no reconnection", info)
	}
	receive(t, closed, "OnClose: closed for good")
	// Nothing panics, nothing hangs.
	if responses := receive(t, asyncWait(pending), "pending Wait released"); len(responses) != 0 {
		t.Errorf("pending Wait = %v", responses)
	}
	if err := client.Publish("t", 1); !errors.Is(err, ksps.ErrNotConnected) {
		t.Errorf("Publish: %v", err)
	}
	ack := client.PublishWithAck("t", 1, unit)
	if !errors.Is(ack.Err(), ksps.ErrNotConnected) {
		t.Errorf("PublishWithAck: %v", ack.Err())
	}
	ack.Wait()
	ack.WaitAny()
	ack.GetStatus()
	ack.IsComplete()
	ack.Cancel()
	cb, _ := collector()
	client.Subscribe("u", cb)()
	client.Unsubscribe("u")
}

func TestHalfOpenConnectionIsDetected(t *testing.T) {
	proxy := newFreezableProxy(t, sharedServer.Address)
	ev := newEvents()
	opts := fastReconnect(ksps.ClientOptions{
		Address:           proxy.address(),
		KeepaliveInterval: unit / 10,
		KeepaliveTimeout:  unit / 5,
	})
	client := connect(t, ev.hook(opts))
	receive(t, ev.connected, "OnConnect")
	cb, got := collector()
	client.Subscribe("halfopen", cb)

	proxy.freeze() // the TCP connection stays open but nothing goes through any more
	info := receive(t, ev.disconnected, "OnDisconnect by keepalive")
	if info.Reason != "keepalive timeout" || !info.Reconnecting {
		t.Errorf("disconnection = %+v", info)
	}
	receive(t, ev.connected, "OnConnect through a new proxied connection")
	other := connect(t, ksps.ClientOptions{})
	_ = other.Publish("halfopen", "after")
	receive(t, got, "delivery after reconnection")
}

// asyncWait runs ack.Wait in a goroutine.
func asyncWait(ack *ksps.Ack) chan map[string]ksps.AckResponse {
	ch := make(chan map[string]ksps.AckResponse, 1)
	go func() { ch <- ack.Wait() }()
	return ch
}

// freePort returns a loopback port nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	listener, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := listener.Addr().(*net.TCPAddr).Port
	_ = listener.Close()
	return port
}

// The hooks run on their own goroutine: each must see the state it announces (this failed now
// and then when IsConnected was updated after the events were handed to the hooks).
func TestHooksSeeTheConnectionStateTheyAnnounce(t *testing.T) {
	server := startTestServer(t, 0)
	var client atomic.Pointer[ksps.Client]
	seen := make(chan bool, 100)
	opts := fastReconnect(ksps.ClientOptions{Address: server.Address})
	opts.OnConnect = func() {
		for client.Load() == nil { // the first OnConnect may run before NewClient returns
			runtime.Gosched()
		}
		seen <- client.Load().IsConnected()
	}
	opts.OnDisconnect = func(ksps.DisconnectInfo) { seen <- client.Load().IsConnected() }
	client.Store(connect(t, opts))
	if !receive(t, seen, "first OnConnect") {
		t.Error("OnConnect saw IsConnected false")
	}
	for round := 0; round < 3; round++ {
		server.stop()
		if receive(t, seen, "OnDisconnect") {
			t.Errorf("round %d: OnDisconnect saw IsConnected true", round)
		}
		server = startTestServer(t, server.Port)
		if !receive(t, seen, "OnConnect") {
			t.Errorf("round %d: OnConnect saw IsConnected false", round)
		}
	}
}
