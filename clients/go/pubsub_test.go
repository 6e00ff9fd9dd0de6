package ksps_test

import (
	"context"
	"errors"
	"reflect"
	"testing"

	ksps "github.com/ksps-dev/ksps/clients/go"
)

func TestSubscribeReceivesPublicationsFromOthersAndSelf(t *testing.T) {
	topic := uniqueTopic(t, "news")
	a := connect(t, ksps.ClientOptions{ID: "pubsub-A"})
	b := connect(t, ksps.ClientOptions{ID: "pubsub-B"})
	fromA, gotA := collector()
	fromB, gotB := collector()
	a.Subscribe(topic, fromA)
	b.Subscribe(topic, fromB)

	if err := b.Publish(topic, map[string]any{"x": 1, "s": "<&>"}); err != nil {
		t.Fatal(err)
	}
	want := ksps.Message{Data: map[string]any{"x": 1.0, "s": "<&>"}, From: "pubsub-B"}
	for name, ch := range map[string]chan ksps.Message{"subscriber": gotA, "publisher itself": gotB} {
		if got := receive(t, ch, name+" delivery"); !reflect.DeepEqual(got, want) {
			t.Errorf("%s got %#v, want %#v", name, got, want)
		}
	}
}

func TestPublishPayloadKinds(t *testing.T) {
	topic := uniqueTopic(t, "kinds")
	client := connect(t, ksps.ClientOptions{})
	cb, got := collector()
	client.Subscribe(topic, cb)
	payloads := []any{nil, true, 3.5, "text", []any{1.0, "two"}, map[string]any{"data": "nested-looking"}}
	for _, payload := range payloads {
		if err := client.Publish(topic, payload); err != nil {
			t.Fatal(err)
		}
	}
	for _, payload := range payloads {
		if msg := receive(t, got, "delivery"); !reflect.DeepEqual(msg.Data, payload) {
			t.Errorf("got %#v, want %#v", msg.Data, payload)
		}
	}
	if err := client.Publish(topic, make(chan int)); err == nil {
		t.Error("publishing a value JSON cannot encode should fail")
	}
}

func TestUseNumberKeepsLargeIntegersExact(t *testing.T) {
	topic := uniqueTopic(t, "numbers")
	client := connect(t, ksps.ClientOptions{UseNumber: true})
	cb, got := collector()
	client.Subscribe(topic, cb)
	if err := client.Publish(topic, uint64(12345678901234567890)); err != nil {
		t.Fatal(err)
	}
	if msg := receive(t, got, "delivery"); msg.Data != any(jsonNumber("12345678901234567890")) {
		t.Errorf("got %#v", msg.Data)
	}
}

func TestCallbacksRunInOrderPerTopic(t *testing.T) {
	topic := uniqueTopic(t, "ordered")
	sub := connect(t, ksps.ClientOptions{})
	pub := connect(t, ksps.ClientOptions{})
	cb, got := collector()
	sub.Subscribe(topic, cb)
	const count = 300
	for i := 0; i < count; i++ {
		if err := pub.Publish(topic, i); err != nil {
			t.Fatal(err)
		}
	}
	for i := 0; i < count; i++ {
		if msg := receive(t, got, "delivery"); msg.Data != float64(i) {
			t.Fatalf("delivery %d carried %v", i, msg.Data)
		}
	}
}

func TestSlowCallbackDoesNotBlockOtherTopics(t *testing.T) {
	slowTopic, fastTopic := uniqueTopic(t, "slow"), uniqueTopic(t, "fast")
	client := connect(t, ksps.ClientOptions{})
	release := make(chan struct{})
	entered := make(chan struct{}, 1)
	client.Subscribe(slowTopic, func(ksps.Message, func()) {
		entered <- struct{}{}
		<-release
	})
	defer close(release)
	cb, got := collector()
	client.Subscribe(fastTopic, cb)
	_ = client.Publish(slowTopic, "block")
	receive(t, entered, "slow callback")
	_ = client.Publish(fastTopic, "through")
	if msg := receive(t, got, "fast topic while slow callback blocks"); msg.Data != "through" {
		t.Errorf("got %v", msg.Data)
	}
}

func TestUnsubscribeStopsDelivery(t *testing.T) {
	topic := uniqueTopic(t, "t")
	sub := connect(t, ksps.ClientOptions{})
	pub := connect(t, ksps.ClientOptions{})
	cb, got := collector()
	sub.Subscribe(topic, cb)
	_ = pub.Publish(topic, "before")
	receive(t, got, "delivery before unsubscribing")

	sub.Unsubscribe(topic)
	// Unsubscribe returned after the server processed it: nobody answers on the server now.
	if responses := pub.PublishWithAck(topic, "after", 3*unit).Wait(); len(responses) != 0 {
		t.Errorf("after Unsubscribe the server still had responders: %v", responses)
	}
	if len(got) != 0 {
		t.Errorf("delivery after Unsubscribe: %v", <-got)
	}
}

func TestUnsubscribeFunctions(t *testing.T) {
	topic := uniqueTopic(t, "t")
	sub := connect(t, ksps.ClientOptions{ID: "unsub-fn"})
	pub := connect(t, ksps.ClientOptions{})

	// The function returned by Subscribe.
	cb, got := collector()
	unsubscribe := sub.Subscribe(topic, cb)
	unsubscribe()
	if responses := pub.PublishWithAck(topic, 1, 3*unit).Wait(); len(responses) != 0 {
		t.Errorf("returned unsubscribe did not unsubscribe: %v", responses)
	}

	// The function passed to the callback.
	calls := make(chan ksps.Message, 10)
	sub.Subscribe(topic, func(msg ksps.Message, unsub func()) {
		calls <- msg
		unsub()
	})
	first := pub.PublishWithAck(topic, "first", 3*unit).Wait()
	if !first["unsub-fn"].Success {
		t.Fatalf("first delivery not acknowledged: %v", first)
	}
	receive(t, calls, "first delivery")
	if responses := pub.PublishWithAck(topic, "second", 3*unit).Wait(); len(responses) != 0 {
		t.Errorf("unsub from the callback did not unsubscribe: %v", responses)
	}
	if len(got) != 0 || len(calls) != 0 {
		t.Error("delivery after unsubscribing")
	}
}

func TestSubscribeAgainReplacesTheCallback(t *testing.T) {
	topic := uniqueTopic(t, "t")
	client := connect(t, ksps.ClientOptions{})
	oldCb, oldGot := collector()
	newCb, newGot := collector()
	oldUnsubscribe := client.Subscribe(topic, oldCb)
	client.Subscribe(topic, newCb)
	oldUnsubscribe() // belongs to the replaced subscription: must not remove the new one
	_ = client.Publish(topic, "x")
	receive(t, newGot, "delivery to the new callback")
	if len(oldGot) != 0 {
		t.Error("the replaced callback still receives")
	}
}

func TestServerErrorsGoToOnError(t *testing.T) {
	ev := newEvents()
	client := connect(t, ev.hook(ksps.ClientOptions{}))
	if err := client.Publish("", "no topic"); err != nil {
		t.Fatal(err)
	}
	err := receive(t, ev.errors, "error frame")
	var serverErr *ksps.ServerErrorReply
	if !errors.As(err, &serverErr) || serverErr.Text != "missing or invalid topic" {
		t.Errorf("OnError got %v", err)
	}
}

func TestSubscribeContextHonoursContext(t *testing.T) {
	client := connect(t, ksps.ClientOptions{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	cb, _ := collector()
	if _, err := client.SubscribeContext(ctx, uniqueTopic(t, "t"), cb); !errors.Is(err, context.Canceled) {
		t.Errorf("SubscribeContext with a cancelled context: %v", err)
	}
	if _, err := client.SubscribeContext(context.Background(), uniqueTopic(t, "u"), nil); err == nil {
		t.Error("a nil callback should be refused")
	}
}
