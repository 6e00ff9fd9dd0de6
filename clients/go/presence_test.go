package ksps_test

import (
	"context"
	"errors"
	"reflect"
	"sort"
	"testing"
	"time"

	ksps "github.com/ksps-dev/ksps/clients/go"
)

// Presence (spec/protocol.md §15) against a real server: Presence, SubscribeOptions{JoinLeave},
// OnJoin/OnLeave, a refusal without the subscribe permission, ErrNotConnected offline.

func TestPresenceCountsAndListsMembersSorted(t *testing.T) {
	topic := uniqueTopic(t, "room")
	asker := connect(t, ksps.ClientOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	info, err := asker.Presence(ctx, topic)
	if err != nil || info.Count != 0 || len(info.IDs) != 0 || info.Truncated {
		t.Fatalf("empty topic: %#v, %v", info, err)
	}
	zed := connect(t, ksps.ClientOptions{ID: topic + "-zed"})
	amy := connect(t, ksps.ClientOptions{ID: topic + "-amy"})
	zed.Subscribe(topic, func(ksps.Message, func()) {})
	amy.Subscribe(topic, func(ksps.Message, func()) {})
	info, err = asker.Presence(ctx, topic)
	want := []string{amy.ID(), zed.ID()}
	sort.Strings(want)
	if err != nil || info.Count != 2 || !reflect.DeepEqual(info.IDs, want) || info.Truncated {
		t.Fatalf("got %#v, %v; want 2 members %v", info, err, want)
	}
}

func TestOnJoinAndOnLeaveHearMembersOfJoinLeaveTopics(t *testing.T) {
	topic := uniqueTopic(t, "room")
	events := make(chan [3]string, 16)
	watcher := connect(t, ksps.ClientOptions{
		OnJoin:  func(topic, id string) { events <- [3]string{"join", topic, id} },
		OnLeave: func(topic, id string) { events <- [3]string{"leave", topic, id} },
	})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := watcher.SubscribeWithOptions(ctx, topic, ksps.SubscribeOptions{JoinLeave: true}, func(ksps.Message, func()) {}); err != nil {
		t.Fatal(err)
	}
	watcher.Subscribe(topic+"-quiet", func(ksps.Message, func()) {})
	amy, err := ksps.NewClient(ksps.ClientOptions{Address: sharedServer.Address, ID: topic + "-amy"})
	if err != nil {
		t.Fatal(err)
	}
	amy.Subscribe(topic+"-quiet", func(ksps.Message, func()) {})
	amy.Subscribe(topic, func(ksps.Message, func()) {})
	amy.Unsubscribe(topic)
	amy.Subscribe(topic, func(ksps.Message, func()) {})
	_ = amy.Close()
	want := [][3]string{
		{"join", topic, amy.ID()}, {"leave", topic, amy.ID()}, {"join", topic, amy.ID()}, {"leave", topic, amy.ID()},
	}
	for i, event := range want {
		if got := receive(t, events, "member event"); got != event {
			t.Fatalf("event %d: got %v, want %v", i, got, event)
		}
	}
}

func TestPresenceRefusedWithoutTheSubscribePermission(t *testing.T) {
	server := startTestServer(t, 0, "--jwt-secret", testSecret, "--anonymous", "allow")
	alice := connect(t, ksps.ClientOptions{Address: server.Address,
		Token: mint("alice-presence", time.Hour, testSecret, map[string]any{"subscribe": []string{"news.*"}})})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := alice.Presence(ctx, "secret")
	var refused *ksps.ServerErrorReply
	if !errors.As(err, &refused) || refused.Code != "forbidden" || refused.Topic != "secret" {
		t.Fatalf("got %v, want a forbidden *ServerError for topic secret", err)
	}
	if info, err := alice.Presence(ctx, "news.x"); err != nil || info.Count != 0 {
		t.Fatalf("allowed topic: %#v, %v", info, err)
	}
}

func TestPresenceWhileDisconnectedIsErrNotConnected(t *testing.T) {
	client, err := ksps.NewClient(ksps.ClientOptions{Address: "127.0.0.1:1", Autorestart: true})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = client.Close() }()
	if _, err := client.Presence(context.Background(), "room"); !errors.Is(err, ksps.ErrNotConnected) {
		t.Fatalf("got %v, want ErrNotConnected", err)
	}
}

func TestJoinLeaveSubscriptionIsRestoredAfterAServerRestart(t *testing.T) {
	first := startTestServer(t, 0)
	ev := newEvents()
	joins := make(chan string, 16)
	opts := ev.hook(fastReconnect(ksps.ClientOptions{Address: first.Address, ID: "presence-restart-watcher"}))
	opts.OnJoin = func(_, id string) { joins <- id }
	watcher := connect(t, opts)
	receive(t, ev.connected, "first OnConnect")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := watcher.SubscribeWithOptions(ctx, "room", ksps.SubscribeOptions{JoinLeave: true}, func(ksps.Message, func()) {}); err != nil {
		t.Fatal(err)
	}
	first.stop()
	receive(t, ev.disconnected, "OnDisconnect")
	second := startTestServer(t, first.Port)
	receive(t, ev.connected, "OnConnect after the restart")
	member := connect(t, ksps.ClientOptions{Address: second.Address, ID: "presence-restart-member"})
	member.Subscribe("room", func(ksps.Message, func()) {})
	if got := receive(t, joins, "OnJoin after the restart"); got != member.ID() {
		t.Fatalf("got a join of %q, want %q", got, member.ID())
	}
}
