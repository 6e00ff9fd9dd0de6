package ksps_test

import (
	"context"
	"errors"
	"reflect"
	"strconv"
	"testing"
	"time"

	ksps "github.com/ksps-dev/ksps/clients/go"
)

// blockingSubscriber subscribes client to topic with a callback that waits for release.
func blockingSubscriber(t *testing.T, client *ksps.Client, topic string) (entered chan struct{}, release chan struct{}) {
	entered, release = make(chan struct{}, 10), make(chan struct{})
	client.Subscribe(topic, func(ksps.Message, func()) {
		entered <- struct{}{}
		<-release
	})
	return entered, release
}

func TestPublishWithAckCollectsEverySubscriber(t *testing.T) {
	topic := uniqueTopic(t, "t")
	pub := connect(t, ksps.ClientOptions{ID: "ack-pub"})
	for _, id := range []string{"ack-A", "ack-C"} {
		sub := connect(t, ksps.ClientOptions{ID: id})
		sub.Subscribe(topic, func(ksps.Message, func()) {})
	}
	ack := pub.PublishWithAck(topic, "hello", 3*unit)
	responses := ack.Wait()
	if len(responses) != 2 || !responses["ack-A"].Success || !responses["ack-C"].Success {
		t.Fatalf("Wait = %v", responses)
	}
	if responses["ack-A"].ClientID != "ack-A" || responses["ack-A"].AckID == "" {
		t.Errorf("malformed response %#v", responses["ack-A"])
	}
	if !ack.IsComplete() {
		t.Error("IsComplete after every answer")
	}
	if status := ack.GetStatus(); !reflect.DeepEqual(status, map[string]bool{"ack-A": true, "ack-C": true}) {
		t.Errorf("GetStatus after completion = %v", status)
	}
	if again := ack.Wait(); !reflect.DeepEqual(again, responses) {
		t.Errorf("a second Wait returned %v", again)
	}
	if ack.Err() != nil {
		t.Errorf("Err = %v", ack.Err())
	}
}

func TestWaitAnyReturnsTheFirstResponseToArrive(t *testing.T) {
	topic := uniqueTopic(t, "t")
	pub := connect(t, ksps.ClientOptions{})
	fast := connect(t, ksps.ClientOptions{ID: "any-fast"})
	slow := connect(t, ksps.ClientOptions{ID: "any-slow"})
	fast.Subscribe(topic, func(ksps.Message, func()) {})
	entered, release := blockingSubscriber(t, slow, topic)

	ack := pub.PublishWithAck(topic, "x", 4*unit)
	receive(t, entered, "slow subscriber called")
	first, ok := ack.WaitAny()
	if !ok || first.ClientID != "any-fast" || !first.Success {
		t.Fatalf("WaitAny = %v, %v; want the fast subscriber's answer while the slow one still runs", first, ok)
	}
	close(release)
	responses := ack.Wait()
	if len(responses) != 2 || !responses["any-slow"].Success {
		t.Errorf("Wait after WaitAny = %v (WaitAny must not consume)", responses)
	}
	if again, ok := ack.WaitAny(); !ok || again != first {
		t.Errorf("WaitAny again = %v, %v", again, ok)
	}
}

func TestGetStatusAndIsCompleteWhilePending(t *testing.T) {
	topic := uniqueTopic(t, "t")
	pub := connect(t, ksps.ClientOptions{})
	fast := connect(t, ksps.ClientOptions{ID: "status-fast"})
	slow := connect(t, ksps.ClientOptions{ID: "status-slow"})
	fast.Subscribe(topic, func(ksps.Message, func()) {})
	entered, release := blockingSubscriber(t, slow, topic)

	ack := pub.PublishWithAck(topic, "x", 4*unit)
	receive(t, entered, "slow subscriber called")
	if _, ok := ack.WaitAny(); !ok {
		t.Fatal("no first answer")
	}
	// GetStatus is the last known state, without a round trip: only the answer that arrived.
	if status := ack.GetStatus(); !reflect.DeepEqual(status, map[string]bool{"status-fast": true}) {
		t.Errorf("GetStatus before FetchStatus = %v", status)
	}
	want := map[string]bool{"status-fast": true, "status-slow": false}
	if status, err := ack.FetchStatus(context.Background()); err != nil || !reflect.DeepEqual(status, want) {
		t.Errorf("FetchStatus while pending = %v, %v, want %v", status, err, want)
	}
	if status := ack.GetStatus(); !reflect.DeepEqual(status, want) {
		t.Errorf("GetStatus after FetchStatus = %v, want %v", status, want)
	}
	if ack.IsComplete() {
		t.Error("IsComplete while a responder is pending")
	}
	close(release)
	ack.Wait()
	if !ack.IsComplete() {
		t.Error("not complete after every answer")
	}
}

func TestCancelReleasesWaitAtOnce(t *testing.T) {
	topic := uniqueTopic(t, "t")
	pub := connect(t, ksps.ClientOptions{})
	slow := connect(t, ksps.ClientOptions{})
	entered, release := blockingSubscriber(t, slow, topic)
	defer close(release)

	ack := pub.PublishWithAck(topic, "x", 30*unit)
	receive(t, entered, "subscriber called")
	waited := make(chan map[string]ksps.AckResponse, 1)
	anyDone := make(chan bool, 1)
	go func() { waited <- ack.Wait() }()
	go func() { _, ok := ack.WaitAny(); anyDone <- ok }()
	ack.Cancel()
	if responses := receive(t, waited, "Wait released by Cancel"); len(responses) != 0 {
		t.Errorf("Wait after Cancel = %v", responses)
	}
	if ok := receive(t, anyDone, "WaitAny released by Cancel"); ok {
		t.Error("WaitAny reported a response after Cancel")
	}
	if ack.IsComplete() {
		t.Error("a cancelled request is not complete")
	}
	ack.Cancel() // idempotent
}

func TestCallbackPanicGivesAnErrorAck(t *testing.T) {
	topic := uniqueTopic(t, "t")
	pub := connect(t, ksps.ClientOptions{})
	seen := newEvents()
	sub := connect(t, seen.hook(ksps.ClientOptions{ID: "panicker"}))
	sub.Subscribe(topic, func(ksps.Message, func()) { panic("boom") })
	responses := pub.PublishWithAck(topic, "x", 3*unit).Wait()
	want := ksps.AckResponse{AckID: responses["panicker"].AckID, ClientID: "panicker", Success: false, Error: "boom"}
	if responses["panicker"] != want {
		t.Errorf("response = %#v, want %#v", responses["panicker"], want)
	}
	// The panic also reaches OnError, as a *CallbackError naming the topic (docs/api-names.md).
	var failed *ksps.CallbackError
	for failed == nil || failed.Topic != topic {
		if err := receive(t, seen.errors, "OnError(*CallbackError)"); !errors.As(err, &failed) {
			failed = nil
		}
	}
	if failed.Value != "boom" {
		t.Errorf("CallbackError.Value = %#v, want the panic value", failed.Value)
	}
	sub.Subscribe(topic, func(ksps.Message, func()) { panic(errors.New("as error")) })
	if got := pub.PublishWithAck(topic, "x", 3*unit).Wait()["panicker"].Error; got != "as error" {
		t.Errorf("panic with an error value gave %q", got)
	}
	// The subscriber survives its panics.
	cb, got := collector()
	sub.Subscribe(topic, cb)
	_ = pub.Publish(topic, "still alive")
	receive(t, got, "delivery after panics")
}

func TestPublishWithAckWithoutSubscribersAnswersAtOnce(t *testing.T) {
	pub := connect(t, ksps.ClientOptions{})
	start := time.Now()
	ack := pub.PublishWithAck(uniqueTopic(t, "nobody"), "x", 10*unit)
	if responses := ack.Wait(); len(responses) != 0 {
		t.Errorf("Wait = %v", responses)
	}
	if _, ok := ack.WaitAny(); ok {
		t.Error("WaitAny reported a response")
	}
	if elapsed := time.Since(start); elapsed > 2*unit {
		t.Errorf("waited %v for an empty answer", elapsed)
	}
	if !ack.IsComplete() {
		t.Error("the request is over")
	}
}

func TestServerTimeoutEndsTheRequest(t *testing.T) {
	topic := uniqueTopic(t, "t")
	pub := connect(t, ksps.ClientOptions{})
	fast := connect(t, ksps.ClientOptions{ID: "timeout-fast"})
	slow := connect(t, ksps.ClientOptions{})
	fast.Subscribe(topic, func(ksps.Message, func()) {})
	_, release := blockingSubscriber(t, slow, topic)
	defer close(release)
	start := time.Now()
	responses := pub.PublishWithAck(topic, "x", unit/2).Wait()
	if len(responses) != 1 || !responses["timeout-fast"].Success {
		t.Errorf("Wait = %v, want the fast answer only", responses)
	}
	if elapsed := time.Since(start); elapsed > 2*unit {
		t.Errorf("the timeout sent to the server was not honoured: %v", elapsed)
	}
}

func TestWaitContextVariants(t *testing.T) {
	topic := uniqueTopic(t, "t")
	pub := connect(t, ksps.ClientOptions{})
	slow := connect(t, ksps.ClientOptions{})
	entered, release := blockingSubscriber(t, slow, topic)
	defer close(release)
	ack := pub.PublishWithAck(topic, "x", 30*unit)
	receive(t, entered, "subscriber called")

	ctx, cancel := context.WithTimeout(context.Background(), unit/10)
	defer cancel()
	if _, err := ack.WaitContext(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitContext = %v", err)
	}
	if _, ok, err := ack.WaitAnyContext(ctx); ok || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("WaitAnyContext = %v, %v", ok, err)
	}
	status, err := ack.FetchStatus(context.Background())
	if err != nil || len(status) != 1 {
		t.Errorf("FetchStatus = %v, %v", status, err)
	}
	if complete := ack.IsComplete(); complete {
		t.Errorf("IsComplete = %v", complete)
	}
	ack.Cancel()
}

func TestAckOfAnUnencodableValue(t *testing.T) {
	pub := connect(t, ksps.ClientOptions{})
	ack := pub.PublishWithAck(uniqueTopic(t, "t"), func() {}, unit)
	if ack.Err() == nil {
		t.Fatal("Err should explain the encoding failure")
	}
	if responses := ack.Wait(); len(responses) != 0 {
		t.Errorf("Wait = %v", responses)
	}
}

// What an ack handle knows is synchronous; asking the server is FetchStatus, which fails with
// ErrNotConnected offline (contract "ack handles": the same rule in the three clients).
func TestAckHandleStateOffline(t *testing.T) {
	client, err := ksps.NewClient(fastReconnect(ksps.ClientOptions{Address: "127.0.0.1:" + strconv.Itoa(freePort(t)), Autorestart: true}))
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ack := client.PublishWithAck("t", 1, 30*unit) // queued offline
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	if status, err := ack.FetchStatus(ctx); !errors.Is(err, ksps.ErrNotConnected) || len(status) != 0 {
		t.Errorf("FetchStatus offline = %v, %v; want ErrNotConnected", status, err)
	}
	if ack.IsComplete() || len(ack.GetStatus()) != 0 {
		t.Errorf("IsComplete, GetStatus of a queued request = %v, %v", ack.IsComplete(), ack.GetStatus())
	}
	ack.Cancel() // synchronous: over when it returns
	select {
	case <-ack.Done():
	default:
		t.Fatal("Cancel returned before the handle was over")
	}
	if status, err := ack.FetchStatus(ctx); !errors.Is(err, ksps.ErrNotConnected) || len(status) != 0 {
		t.Errorf("FetchStatus of an ended request = %v, %v; want ErrNotConnected and the last known state", status, err)
	}
}
