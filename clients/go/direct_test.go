package ksps_test

import (
	"reflect"
	"testing"
	"time"

	ksps "github.com/ksps-dev/ksps/clients/go"
)

// onIDRecorder returns an OnID handler forwarding every message to a channel.
func onIDRecorder() (func(ksps.Message), chan ksps.Message) {
	ch := make(chan ksps.Message, 100)
	return func(msg ksps.Message) { ch <- msg }, ch
}

func TestPublishToIDReachesOnID(t *testing.T) {
	onID, got := onIDRecorder()
	target := connect(t, ksps.ClientOptions{ID: "direct-target", OnID: onID})
	sender := connect(t, ksps.ClientOptions{ID: "direct-sender"})
	payload := map[string]any{"data": "kept flat", "n": 2.0}
	if err := sender.PublishToID(target.ID(), payload); err != nil {
		t.Fatal(err)
	}
	want := ksps.Message{Data: payload, From: "direct-sender"}
	if msg := receive(t, got, "direct message"); !reflect.DeepEqual(msg, want) {
		t.Errorf("OnID got %#v, want %#v", msg, want)
	}
	// Sending to oneself works too (spec §5.1).
	_ = target.PublishToID(target.ID(), "self")
	if msg := receive(t, got, "direct message to self"); msg.Data != "self" || msg.From != "direct-target" {
		t.Errorf("OnID got %#v", msg)
	}
}

func TestPublishToIDWithAck(t *testing.T) {
	onID, got := onIDRecorder()
	target := connect(t, ksps.ClientOptions{ID: "dack-target", OnID: onID})
	sender := connect(t, ksps.ClientOptions{ID: "dack-sender"})

	responses := sender.PublishToIDWithAck(target.ID(), "hi", 3*unit).Wait()
	if len(responses) != 1 || !responses["dack-target"].Success {
		t.Fatalf("Wait = %v", responses)
	}
	if msg := receive(t, got, "direct message with ack"); msg.Data != "hi" || msg.From != "dack-sender" {
		t.Errorf("OnID got %#v", msg)
	}
}

func TestPublishToIDWithAckWhenOnIDPanics(t *testing.T) {
	target := connect(t, ksps.ClientOptions{ID: "dpanic-target", OnID: func(ksps.Message) { panic("refused") }})
	sender := connect(t, ksps.ClientOptions{})
	first, ok := sender.PublishToIDWithAck(target.ID(), "hi", 3*unit).WaitAny()
	if !ok || first.Success || first.Error != "refused" || first.ClientID != "dpanic-target" {
		t.Errorf("WaitAny = %#v, %v", first, ok)
	}
}

func TestPublishToIDWithAckWithoutOnID(t *testing.T) {
	target := connect(t, ksps.ClientOptions{ID: "dnone-target"})
	sender := connect(t, ksps.ClientOptions{})
	responses := sender.PublishToIDWithAck(target.ID(), "hi", 3*unit).Wait()
	if r := responses["dnone-target"]; r.Success || r.Error != "no subscriber for topic" {
		t.Errorf("Wait = %v", responses)
	}
}

func TestPublishToIDWithAckToUnknownClient(t *testing.T) {
	sender := connect(t, ksps.ClientOptions{})
	start := time.Now()
	ack := sender.PublishToIDWithAck("nobody-has-this-id", "hi", 10*unit)
	if responses := ack.Wait(); len(responses) != 0 {
		t.Errorf("Wait = %v", responses)
	}
	if elapsed := time.Since(start); elapsed > 2*unit {
		t.Errorf("an unknown target should be answered at once, took %v", elapsed)
	}
}

func TestPublishToServerRelaysToAnotherServer(t *testing.T) {
	// Relays are signed with a shared secret and go only to configured peers (spec/protocol.md §12).
	other := startTestServer(t, 0, "--peer-secret", "go-test-peer-secret")
	relaying := startTestServer(t, 0, "--peer-secret", "go-test-peer-secret", "--peers", other.Address)
	onOther := connect(t, ksps.ClientOptions{Address: other.Address})
	cb, got := collector()
	topic := uniqueTopic(t, "relayed")
	onOther.Subscribe(topic, cb)

	ev := newEvents()
	sender := connect(t, ev.hook(ksps.ClientOptions{ID: "relay-sender", Address: relaying.Address}))
	if err := sender.PublishToServer(other.Address+"/ws/bus", map[string]any{"topic": topic, "data": map[string]any{"v": 1}}); err != nil {
		t.Fatal(err)
	}
	msg := receive(t, got, "relayed publication")
	if !reflect.DeepEqual(msg.Data, map[string]any{"v": 1.0}) {
		t.Errorf("relayed data = %#v", msg.Data)
	}
	if msg.From != "relay-sender---ws://"+relaying.Address+"/ws/bus" {
		t.Errorf("relayed from = %q", msg.From)
	}
	select {
	case err := <-ev.errors:
		t.Errorf("unexpected error: %v", err)
	default:
	}
}
