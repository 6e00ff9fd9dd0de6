package ksps_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"time"

	ksps "github.com/ksps-dev/ksps/clients/go"
)

// address is where the examples find a server: "localhost:9313" is where `ksps serve` listens by
// default. When go test runs the examples, TestMain points it at the server it started.
var address = "localhost:9313"

// historyAddress is a server that keeps history (`ksps serve --history-size 100`); TestMain
// starts one.
var historyAddress = "localhost:9313"

func Example() {
	client, err := ksps.NewClient(ksps.ClientOptions{Address: address, ID: "example-client"})
	if err != nil {
		log.Fatal(err) // ksps.ErrConnectionFailed when no server answers
	}
	defer client.Close()

	_, err = client.SubscribeContext(context.Background(), "example-events", func(msg ksps.Message, unsubscribe func()) {
		fmt.Printf("got %v from %s\n", msg.Data, msg.From)
	})
	if err != nil {
		log.Fatal(err) // a *ksps.ServerErrorReply when the server refuses the subscription
	}
	ack := client.PublishWithAck("example-events", "From Go!", 3*time.Second)
	if response, ok := ack.WaitAny(); ok {
		fmt.Printf("answered by %s: success %v\n", response.ClientID, response.Success)
	} else if ack.Err() != nil {
		log.Fatal(ack.Err())
	}
	// Output:
	// got From Go! from example-client
	// answered by example-client: success true
}

func ExampleNewClient_serverDown() {
	// Without Autorestart, NewClient fails when the server cannot be reached: check its error
	// before using the client.
	client, err := ksps.NewClient(ksps.ClientOptions{Address: "127.0.0.1:1", ConnectTimeout: time.Second})
	if err != nil {
		fmt.Println("connection failed:", errors.Is(err, ksps.ErrConnectionFailed))
		return
	}
	defer client.Close()
	// Output:
	// connection failed: true
}

func ExampleNewClient_autorestart() {
	client, err := ksps.NewClient(ksps.ClientOptions{
		Address:     address,
		ID:          "worker-1",
		Autorestart: true, // keep trying if the server is not up yet; publications are queued
		OnConnect:   func() { log.Println("connected") },
		OnDisconnect: func(info ksps.DisconnectInfo) {
			log.Printf("disconnected: %d %s (reconnecting: %v)", info.Code, info.Reason, info.Reconnecting)
		},
		OnError: func(err error) { log.Println(err) },
	})
	if err != nil {
		log.Fatal(err) // only invalid options, or a token the server refuses, fail with Autorestart
	}
	client.Run() // until SIGINT or SIGTERM
}

func ExampleClient_PublishToIDWithAck() {
	worker, err := ksps.NewClient(ksps.ClientOptions{
		Address: address,
		ID:      "example-worker",
		OnID:    func(msg ksps.Message) { fmt.Println("worker got", msg.Data, "from", msg.From) },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer worker.Close()
	client, err := ksps.NewClient(ksps.ClientOptions{Address: address, ID: "example-boss"})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	ack := client.PublishToIDWithAck("example-worker", map[string]any{"job": 42}, 5*time.Second)
	responses, err := ack.WaitContext(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for id, response := range responses {
		fmt.Println(id, "answered, success:", response.Success)
	}
	// Output:
	// worker got map[job:42] from example-boss
	// example-worker answered, success: true
}

func ExampleAck_Cancel() {
	client, err := ksps.NewClient(ksps.ClientOptions{Address: address})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	release := make(chan struct{})
	defer close(release)
	_, err = client.SubscribeContext(context.Background(), "example-jobs", func(ksps.Message, func()) {
		<-release // a slow subscriber: its answer will not come in time
	})
	if err != nil {
		log.Fatal(err)
	}

	ack := client.PublishWithAck("example-jobs", "work", time.Minute)
	ack.Cancel() // synchronous: the handle is over at once, and cancel_ack tells the server
	fmt.Println(len(ack.Wait()), ack.IsComplete())
	// Output:
	// 0 false
}

func ExampleAck_FetchStatus() {
	fast, err := ksps.NewClient(ksps.ClientOptions{Address: address, ID: "example-fast"})
	if err != nil {
		log.Fatal(err)
	}
	defer fast.Close()
	slow, err := ksps.NewClient(ksps.ClientOptions{Address: address, ID: "example-slow"})
	if err != nil {
		log.Fatal(err)
	}
	defer slow.Close()
	release := make(chan struct{})
	defer close(release)
	for client, callback := range map[*ksps.Client]func(ksps.Message, func()){
		fast: func(ksps.Message, func()) {},
		slow: func(ksps.Message, func()) { <-release },
	} {
		if _, err := client.SubscribeContext(context.Background(), "example-status", callback); err != nil {
			log.Fatal(err)
		}
	}

	ack := fast.PublishWithAck("example-status", "x", 10*time.Second)
	ack.WaitAny()                // the fast subscriber answered
	fmt.Println(ack.GetStatus()) // what the handle knows, without a round trip
	status, err := ack.FetchStatus(context.Background())
	if err != nil {
		log.Fatal(err) // ksps.ErrNotConnected while offline
	}
	fmt.Println(status) // what the server knows: the slow subscriber has not answered yet
	// Output:
	// map[example-fast:true]
	// map[example-fast:true example-slow:false]
}

func ExampleClient_History() {
	client, err := ksps.NewClient(ksps.ClientOptions{Address: historyAddress})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()

	// Where the topic's stream is now: a Limit of 0 asks for the position only.
	none := 0
	start, err := client.History(ctx, "example-feed", ksps.HistoryOptions{Limit: &none})
	if err != nil {
		log.Fatal(err) // a *ksps.ServerErrorReply with Code "no_history" when the server keeps none
	}
	for _, text := range []string{"one", "two", "three"} {
		_ = client.Publish("example-feed", text)
	}
	// What was published since: the server answers one connection's frames in order.
	page, err := client.History(ctx, "example-feed", ksps.HistoryOptions{
		Since: &ksps.StreamPosition{Offset: start.Offset, Epoch: start.Epoch},
	})
	if err != nil {
		log.Fatal(err)
	}
	for _, msg := range page.Publications {
		fmt.Println(msg.Offset-start.Offset, msg.Data)
	}
	// Output:
	// 1 one
	// 2 two
	// 3 three
}

func ExampleSubscribeOptions_since() {
	ready := make(chan struct{})
	client, err := ksps.NewClient(ksps.ClientOptions{
		Address: historyAddress,
		// Called after the replayed messages, before the live ones, on every (re)subscription.
		// Recovered false means that something was lost for good (the server restarted, the gap
		// was too long): reload the state from its source, then apply the messages that follow.
		OnSubscribed: func(topic string, info ksps.SubscriptionInfo) {
			fmt.Println("recovered:", info.Recovered)
			close(ready)
		},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ctx := context.Background()

	// The position saved when the application last stopped (Client.Position); here, now.
	none := 0
	saved, err := client.History(ctx, "example-orders", ksps.HistoryOptions{Limit: &none})
	if err != nil {
		log.Fatal(err)
	}
	_ = client.Publish("example-orders", "order 1, published while away")

	since := ksps.StreamPosition{Offset: saved.Offset, Epoch: saved.Epoch}
	_, err = client.SubscribeWithOptions(ctx, "example-orders", ksps.SubscribeOptions{Since: &since},
		func(msg ksps.Message, _ func()) { fmt.Println("got", msg.Data) })
	if err != nil {
		log.Fatal(err)
	}
	<-ready
	// After a lost connection the client recovers from its latest position on its own.
	// Output:
	// got order 1, published while away
	// recovered: true
}
