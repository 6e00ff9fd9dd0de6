package ksps_test

import (
	"fmt"
	"log"
	"time"

	ksps "github.com/ksps-dev/ksps/clients/go"
)

// The examples need a running server, so they are compiled but not run by go test.

func Example() {
	client, err := ksps.NewClient(ksps.ClientOptions{Address: "localhost:9313"})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()

	client.Subscribe("events", func(data ksps.Message, unsub func()) { fmt.Printf("Got: %v\n", data) })
	ack := client.PublishWithAck("events", "From Go!", 3*time.Second)
	response, ok := ack.WaitAny()
	fmt.Println(response, ok)
}

func ExampleNewClient_autorestart() {
	client, err := ksps.NewClient(ksps.ClientOptions{
		Address:     "localhost:9313",
		ID:          "worker-1",
		Autorestart: true, // keep trying if the server is not up yet; publications are queued
		OnConnect:   func() { log.Println("connected") },
		OnDisconnect: func(info ksps.DisconnectInfo) {
			log.Printf("disconnected: %d %s (reconnecting: %v)", info.Code, info.Reason, info.Reconnecting)
		},
		OnError: func(err error) { log.Println(err) },
	})
	if err != nil {
		log.Fatal(err)
	}
	client.Run() // until SIGINT or SIGTERM
}

func ExampleClient_PublishToIDWithAck() {
	client, err := ksps.NewClient(ksps.ClientOptions{
		Address: "localhost:9313",
		OnID:    func(msg ksps.Message) { fmt.Println("direct message from", msg.From, msg.Data) },
	})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ack := client.PublishToIDWithAck("other-client", map[string]any{"job": 42}, 5*time.Second)
	for id, response := range ack.Wait() {
		fmt.Println(id, response.Success, response.Error)
	}
}

func ExampleAck_Cancel() {
	client, err := ksps.NewClient(ksps.ClientOptions{Address: "localhost:9313"})
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	ack := client.PublishWithAck("jobs", "work", time.Minute)
	go func() {
		time.Sleep(time.Second)
		ack.Cancel() // the pending Wait returns at once with what arrived
	}()
	fmt.Println(len(ack.Wait()), ack.IsComplete())
}
