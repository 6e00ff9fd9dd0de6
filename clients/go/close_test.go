package ksps_test

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	ksps "github.com/ksps-dev/ksps/clients/go"
)

func TestCloseReleasesWaitersAndIsFinal(t *testing.T) {
	topic := uniqueTopic(t, "t")
	closed := make(chan struct{})
	ev := newEvents()
	opts := ev.hook(ksps.ClientOptions{OnClose: func() { close(closed) }})
	client := connect(t, opts)
	sub := connect(t, ksps.ClientOptions{})
	entered, release := blockingSubscriber(t, sub, topic)
	defer close(release)
	ack := client.PublishWithAck(topic, "x", 30*unit)
	receive(t, entered, "subscriber called")
	waited := asyncWait(ack)

	start := time.Now()
	if err := client.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	receive(t, waited, "Wait released by Close")
	if elapsed := time.Since(start); elapsed > 2*unit {
		t.Errorf("Close took %v", elapsed)
	}
	receive(t, closed, "OnClose")
	// The application's own Close is no disconnection (spec/traces application-close): hooks run
	// in order, so an OnDisconnect would have run before OnClose.
	select {
	case info := <-ev.disconnected:
		t.Errorf("OnDisconnect called on the client's own Close: %+v", info)
	default:
	}
	if err := client.Publish(topic, 1); !errors.Is(err, ksps.ErrClosed) {
		t.Errorf("Publish after Close: %v", err)
	}
	if ack := client.PublishWithAck(topic, 1, unit); !errors.Is(ack.Err(), ksps.ErrClosed) {
		t.Errorf("PublishWithAck after Close: %v", ack.Err())
	}
	if _, err := client.SubscribeContext(context.Background(), topic, func(ksps.Message, func()) {}); !errors.Is(err, ksps.ErrClosed) {
		t.Errorf("Subscribe after Close: %v", err)
	}
	if err := client.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
}

func TestCloseWhileReconnecting(t *testing.T) {
	ev := newEvents()
	client, err := ksps.NewClient(ev.hook(fastReconnect(ksps.ClientOptions{Address: "127.0.0.1:" + strconv.Itoa(freePort(t)), Autorestart: true})))
	if err != nil {
		t.Fatal(err)
	}
	ack := client.PublishWithAck("t", 1, 30*unit) // queued offline
	waited := asyncWait(ack)
	_ = client.Close()
	receive(t, waited, "queued request released by Close")
	if !errors.Is(ack.Err(), ksps.ErrClosed) {
		t.Errorf("Err = %v", ack.Err())
	}
}

func TestCloseOnAFrozenConnectionIsBounded(t *testing.T) {
	proxy := newFreezableProxy(t, sharedServer.Address)
	ev := newEvents()
	client := connect(t, ev.hook(ksps.ClientOptions{Address: proxy.address(), KeepaliveInterval: -1}))
	receive(t, ev.connected, "OnConnect")
	proxy.freeze()
	start := time.Now()
	_ = client.Close()
	if elapsed := time.Since(start); elapsed > 3*unit {
		t.Errorf("Close on a connection that no longer answers took %v", elapsed)
	}
}

// A publisher faster than the connection waits for it (at most maxBacklog frames wait for the
// writer) instead of queueing without bound in memory; Close still ends it at once.
func TestPublishWaitsForAStalledConnection(t *testing.T) {
	proxy := newFreezableProxy(t, sharedServer.Address)
	ev := newEvents()
	client := connect(t, ev.hook(ksps.ClientOptions{Address: proxy.address(), KeepaliveInterval: -1, WriteTimeout: 30 * unit}))
	receive(t, ev.connected, "OnConnect")
	proxy.freeze()
	payload := strings.Repeat("x", 16*1024)
	const frames = 4000 // 64 MiB: far more than the socket buffers and the writer's backlog hold
	published := make(chan int, 1)
	go func() {
		n := 0
		for ; n < frames && client.Publish("t", payload) == nil; n++ {
		}
		published <- n
	}()
	select {
	case n := <-published:
		t.Fatalf("Publish never waited for the stalled connection: %d frames queued in memory", n)
	case <-time.After(4 * unit): // without the wait, 4000 publications take well under a second
	}
	start := time.Now()
	_ = client.Close()
	receive(t, published, "the waiting publisher released by Close")
	if elapsed := time.Since(start); elapsed > 4*unit {
		t.Errorf("Close of a stalled connection took %v", elapsed)
	}
}

// Publications made just before Close all reach the server: Close writes what the writer still
// holds, sends its close frame and waits for the server's before dropping the socket. Dropping
// it with the server's answers still unread makes the kernel reset the connection, and the
// server loses what it had not read yet (the Python client lost 118 of 200 that way).
func TestPublicationsJustBeforeCloseAllArrive(t *testing.T) {
	topic := uniqueTopic(t, "burst")
	sub := connect(t, ksps.ClientOptions{})
	received := make(chan ksps.Message, 4096)
	if _, err := sub.SubscribeContext(context.Background(), topic, func(msg ksps.Message, _ func()) { received <- msg }); err != nil {
		t.Fatal(err)
	}
	pub := connect(t, ksps.ClientOptions{})
	// The publisher receives its own publications too: the server's deliveries to it are what is
	// still unread in its socket when it closes.
	if _, err := pub.SubscribeContext(context.Background(), topic, func(ksps.Message, func()) {}); err != nil {
		t.Fatal(err)
	}
	const count = 2000
	for i := 0; i < count; i++ {
		if err := pub.Publish(topic, i); err != nil {
			t.Fatal(err)
		}
	}
	if err := pub.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for i := 0; i < count; i++ {
		select {
		case msg := <-received:
			if msg.Data != float64(i) {
				t.Fatalf("delivery %d carried %v", i, msg.Data)
			}
		case <-time.After(waitLimit):
			t.Fatalf("only %d of %d publications made before Close arrived", i, count)
		}
	}
}
