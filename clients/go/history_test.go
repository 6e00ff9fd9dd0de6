package ksps_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sync/atomic"
	"testing"

	ksps "github.com/ksps-dev/ksps/clients/go"
)

// History and recovery (spec/protocol.md §14) against real servers that keep history:
// History, Position, SubscribeOptions.Since, OnSubscribed, Message.Offset, recovery after a lost
// connection and after a server restart (a new epoch).

// historyTopics numbers the topics of the history tests: the history server keeps every
// topic's stream for the whole run, so a test run again (-count) needs a fresh one for its
// offsets to start at 1.
var historyTopics atomic.Int64

// historyTopic is a topic of its own for this run of the test.
func historyTopic(t *testing.T) string {
	return fmt.Sprintf("%s/%d", t.Name(), historyTopics.Add(1))
}

// historyClient connects to the shared history server (unless opts.Address is set).
func historyClient(t *testing.T, opts ksps.ClientOptions) *ksps.Client {
	t.Helper()
	if opts.Address == "" {
		opts.Address = historyServer.Address
	}
	return connect(t, opts)
}

// published publishes texts to topic and returns the stream position after the last one. The
// server answers a connection's frames in order (spec §4.3), so the history read that follows
// the publications sees them kept.
func published(t *testing.T, publisher *ksps.Client, topic string, texts ...string) ksps.StreamPosition {
	t.Helper()
	for _, text := range texts {
		if err := publisher.Publish(topic, text); err != nil {
			t.Fatal(err)
		}
	}
	zero := 0
	page, err := publisher.History(context.Background(), topic, ksps.HistoryOptions{Limit: &zero})
	if err != nil {
		t.Fatalf("History after publishing: %v", err)
	}
	return ksps.StreamPosition{Offset: page.Offset, Epoch: page.Epoch}
}

// offsetsAndData lists a page's publications as "offset:data".
func offsetsAndData(msgs []ksps.Message) []string {
	out := make([]string, 0, len(msgs))
	for _, msg := range msgs {
		out = append(out, fmt.Sprintf("%d:%v", msg.Offset, msg.Data))
	}
	return out
}

// log records a topic's messages and its OnSubscribed calls, in the order the application sees
// them.
type streamLog chan string

func (l streamLog) message(msg ksps.Message, _ func()) {
	l <- fmt.Sprintf("msg %d %v", msg.Offset, msg.Data)
}

func (l streamLog) subscribed(_ string, info ksps.SubscriptionInfo) {
	position := "none"
	if info.Position != nil {
		position = fmt.Sprint(info.Position.Offset)
	}
	l <- fmt.Sprintf("subscribed recovering=%v recovered=%v offset=%s", info.Recovering, info.Recovered, position)
}

// expectLog receives len(want) entries and compares them in order.
func expectLog(t *testing.T, log streamLog, want ...string) {
	t.Helper()
	for i, entry := range want {
		if got := receive(t, log, entry); got != entry {
			t.Fatalf("entry %d: got %q, want %q", i, got, entry)
		}
	}
}

func TestHistoryReadsKeptPublications(t *testing.T) {
	topic := historyTopic(t)
	client := historyClient(t, ksps.ClientOptions{ID: "history-reader", UseNumber: true})
	top := published(t, client, topic, "a", "b", "c")
	if top.Offset != 3 || top.Epoch == "" {
		t.Fatalf("position after three publications: %+v", top)
	}
	ctx := context.Background()
	page, err := client.History(ctx, topic, ksps.HistoryOptions{})
	if err != nil || !reflect.DeepEqual(offsetsAndData(page.Publications), []string{"1:a", "2:b", "3:c"}) ||
		page.Offset != 3 || page.Epoch != top.Epoch || page.Publications[0].From != client.ID() {
		t.Fatalf("all: %+v, %v", page, err)
	}
	page, err = client.History(ctx, topic, ksps.HistoryOptions{Since: &ksps.StreamPosition{Offset: 1, Epoch: top.Epoch}})
	if err != nil || !reflect.DeepEqual(offsetsAndData(page.Publications), []string{"2:b", "3:c"}) {
		t.Fatalf("since 1: %+v, %v", page, err)
	}
	two := 2
	page, err = client.History(ctx, topic, ksps.HistoryOptions{Limit: &two, Reverse: true})
	if err != nil || !reflect.DeepEqual(offsetsAndData(page.Publications), []string{"3:c", "2:b"}) {
		t.Fatalf("newest two: %+v, %v", page, err)
	}
	page, err = client.History(ctx, topic, ksps.HistoryOptions{Since: &ksps.StreamPosition{Offset: 3, Epoch: "another"}})
	if err != nil || len(page.Publications) != 0 || page.Epoch != top.Epoch {
		t.Fatalf("another epoch reads nothing and tells the current one: %+v, %v", page, err)
	}
}

func TestHistoryOfATopicWithoutHistoryIsNoHistory(t *testing.T) {
	client := connect(t, ksps.ClientOptions{}) // the shared server keeps no history
	_, err := client.History(context.Background(), "plain", ksps.HistoryOptions{})
	var refused *ksps.ServerErrorReply
	if !errors.As(err, &refused) || refused.Code != "no_history" || refused.Topic != "plain" {
		t.Fatalf("got %v, want a *ServerErrorReply with code no_history", err)
	}
	if _, err := client.History(context.Background(), "plain", ksps.HistoryOptions{}); !errors.As(err, &refused) {
		t.Fatalf("the connection must go on after the refusal: %v", err)
	}
}

func TestHistoryOfflineClosedAndBadArguments(t *testing.T) {
	client, err := ksps.NewClient(ksps.ClientOptions{Address: "127.0.0.1:1", Autorestart: true})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := client.History(ctx, "feed", ksps.HistoryOptions{}); !errors.Is(err, ksps.ErrNotConnected) {
		t.Fatalf("offline: got %v, want ErrNotConnected", err)
	}
	// Bad arguments are refused before the core is asked: not ErrNotConnected.
	negative := -1
	for _, opts := range []ksps.HistoryOptions{{Limit: &negative}, {Since: &ksps.StreamPosition{Offset: -1}}} {
		if _, err := client.History(ctx, "feed", opts); err == nil || errors.Is(err, ksps.ErrNotConnected) {
			t.Errorf("%+v: got %v, want an argument error", opts, err)
		}
	}
	if _, err := client.History(ctx, "", ksps.HistoryOptions{}); err == nil || errors.Is(err, ksps.ErrNotConnected) {
		t.Errorf("no topic: got %v", err)
	}
	_, err = client.SubscribeWithOptions(ctx, "feed", ksps.SubscribeOptions{Since: &ksps.StreamPosition{Offset: -2}},
		func(ksps.Message, func()) {})
	if err == nil {
		t.Error("Subscribe with a negative offset must fail")
	}
	if _, ok := client.Position("feed"); ok {
		t.Error("a refused Subscribe must not record a position")
	}
	_ = client.Close()
	if _, err := client.History(ctx, "feed", ksps.HistoryOptions{}); !errors.Is(err, ksps.ErrClosed) {
		t.Fatalf("closed: got %v, want ErrClosed", err)
	}
}

func TestSubscribeReportsThePositionAndMessagesCarryOffsets(t *testing.T) {
	topic := historyTopic(t)
	publisher := historyClient(t, ksps.ClientOptions{})
	before := published(t, publisher, topic, "old")
	log := make(streamLog, 100)
	client := historyClient(t, ksps.ClientOptions{OnSubscribed: log.subscribed})
	if _, ok := client.Position(topic); ok {
		t.Fatal("a position before subscribing")
	}
	if _, err := client.SubscribeContext(context.Background(), topic, log.message); err != nil {
		t.Fatal(err)
	}
	expectLog(t, log, "subscribed recovering=false recovered=false offset=1")
	if got, ok := client.Position(topic); !ok || got != before {
		t.Fatalf("position after subscribing: %+v %v, want %+v", got, ok, before)
	}
	published(t, publisher, topic, "new")
	expectLog(t, log, "msg 2 new")
	if got, _ := client.Position(topic); got.Offset != 2 || got.Epoch != before.Epoch {
		t.Fatalf("position after a message: %+v", got)
	}
	client.Unsubscribe(topic)
	if _, ok := client.Position(topic); ok {
		t.Fatal("Unsubscribe must forget the position")
	}
}

func TestSubscribeSinceReplaysFromASavedPosition(t *testing.T) {
	topic := historyTopic(t)
	publisher := historyClient(t, ksps.ClientOptions{})
	top := published(t, publisher, topic, "m1", "m2", "m3", "m4")
	log := make(streamLog, 100)
	client := historyClient(t, ksps.ClientOptions{OnSubscribed: log.subscribed})
	saved := ksps.StreamPosition{Offset: 2, Epoch: top.Epoch}
	if _, err := client.SubscribeWithOptions(context.Background(), topic, ksps.SubscribeOptions{Since: &saved}, log.message); err != nil {
		t.Fatal(err)
	}
	published(t, publisher, topic, "m5")
	expectLog(t, log, "msg 3 m3", "msg 4 m4", "subscribed recovering=true recovered=true offset=4", "msg 5 m5")
}

func TestRecoveryAfterALostConnectionReplaysWhatWasMissed(t *testing.T) {
	topic := historyTopic(t)
	proxy := newFreezableProxy(t, historyServer.Address)
	log := make(streamLog, 100)
	ev := newEvents()
	opts := ev.hook(fastReconnect(ksps.ClientOptions{Address: proxy.address(), ID: "history-recovering"}))
	opts.OnSubscribed = log.subscribed
	client := connect(t, opts)
	receive(t, ev.connected, "first OnConnect")
	publisher := historyClient(t, ksps.ClientOptions{})
	if _, err := client.SubscribeContext(context.Background(), topic, log.message); err != nil {
		t.Fatal(err)
	}
	published(t, publisher, topic, "before")
	expectLog(t, log, "subscribed recovering=false recovered=false offset=0", "msg 1 before")

	proxy.cut()
	receive(t, ev.disconnected, "OnDisconnect")
	top := published(t, publisher, topic, "missed 1", "missed 2")
	proxy.resume()
	receive(t, ev.connected, "OnConnect after the cut")
	expectLog(t, log, "msg 2 missed 1", "msg 3 missed 2", "subscribed recovering=true recovered=true offset=3")
	if got, _ := client.Position(topic); got != top {
		t.Fatalf("position after the recovery: %+v, want %+v", got, top)
	}
	published(t, publisher, topic, "live")
	expectLog(t, log, "msg 4 live")
}

func TestRecoveryAfterAServerRestartTellsThatTheEpochChanged(t *testing.T) {
	topic := "restarted-feed"
	first := startTestServer(t, 0, historyFlags...)
	log := make(streamLog, 100)
	ev := newEvents()
	opts := ev.hook(fastReconnect(ksps.ClientOptions{Address: first.Address, ID: "history-restart"}))
	opts.OnSubscribed = log.subscribed
	client := connect(t, opts)
	receive(t, ev.connected, "first OnConnect")
	if _, err := client.SubscribeContext(context.Background(), topic, log.message); err != nil {
		t.Fatal(err)
	}
	publisher := connect(t, ksps.ClientOptions{Address: first.Address})
	old := published(t, publisher, topic, "a", "b")
	expectLog(t, log, "subscribed recovering=false recovered=false offset=0", "msg 1 a", "msg 2 b")
	_ = publisher.Close()

	first.stop()
	receive(t, ev.disconnected, "OnDisconnect")
	second := startTestServer(t, first.Port, historyFlags...)
	receive(t, ev.connected, "OnConnect after the restart")
	// The memory engine lost the stream: nothing is replayed, the position is the new stream's.
	expectLog(t, log, "subscribed recovering=true recovered=false offset=0")
	got, ok := client.Position(topic)
	if !ok || got.Offset != 0 || got.Epoch == old.Epoch || got.Epoch == "" {
		t.Fatalf("position after the restart: %+v %v (old %+v)", got, ok, old)
	}
	// The new stream starts again at 1, lower than the last offset seen: it is delivered.
	publisher = connect(t, ksps.ClientOptions{Address: second.Address})
	published(t, publisher, topic, "fresh")
	expectLog(t, log, "msg 1 fresh")
}

func TestOnSubscribedPanicIsReportedAndTheClientGoesOn(t *testing.T) {
	topic := historyTopic(t)
	ev := newEvents()
	opts := ev.hook(ksps.ClientOptions{})
	opts.OnSubscribed = func(string, ksps.SubscriptionInfo) { panic("hook failed") }
	client := historyClient(t, opts)
	receive(t, ev.connected, "OnConnect")
	callback, messages := collector()
	if _, err := client.SubscribeContext(context.Background(), topic, callback); err != nil {
		t.Fatal(err)
	}
	var failure *ksps.CallbackError
	if err := receive(t, ev.errors, "OnError"); !errors.As(err, &failure) || failure.Hook != "OnSubscribed" ||
		failure.Topic != topic || failure.Value != "hook failed" {
		t.Fatalf("got %v, want a *CallbackError of OnSubscribed", err)
	}
	published(t, client, topic, "still here")
	if msg := receive(t, messages, "a message after the panic"); msg.Data != "still here" || msg.Offset != 1 {
		t.Fatalf("got %+v", msg)
	}
}
