package ksps

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The client side of history and recovery (spec/protocol.md §14, issue 12) in
// vectors of the spec/traces format written for the Go core (testdata/history): what the
// shared trace vectors pin, plus what they do not (lenient replies, a refused restore and a
// late reply forgetting nothing they should not).
func TestHistoryContractVectors(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "history", "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no vectors in testdata/history: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := replayTrace(raw, filepath.Base(file)); err != nil {
				t.Error(err)
			}
		})
	}
}

// position follows the contract: since of an intent, the position of a subscribed reply, the
// offset of each delivery (the latest, not the highest), kept by a reply without a position,
// forgotten by unsubscribe and by the end of the session.
func TestCorePositionFollowsTheStream(t *testing.T) {
	s := readySession(t, sessionConfig{reconnect: true, reconnectFactor: 2, reconnectInitial: 100, reconnectMax: 1000})
	expect := func(step string, want StreamPosition, wantOK bool) {
		t.Helper()
		if got, ok := s.position("chat"); ok != wantOK || got != want {
			t.Fatalf("%s: position %+v %v, want %+v %v", step, got, ok, want, wantOK)
		}
	}
	expect("before", StreamPosition{}, false)
	s.subscribe(3, "chat", "h1", false, &StreamPosition{Offset: 5, Epoch: "e1"})
	expect("since of the intent", StreamPosition{Offset: 5, Epoch: "e1"}, true)
	s.frame(4, &envelope{Action: actionSubscribed, Topic: "chat", RID: "2", Offset: []byte("9"), Epoch: []byte(`"e2"`)})
	expect("subscribed", StreamPosition{Offset: 9, Epoch: "e2"}, true)
	s.frame(5, &envelope{Action: actionPublish, Topic: "chat", Offset: []byte("10"), Data: []byte(`{"data":1,"from":"b"}`)})
	expect("delivery", StreamPosition{Offset: 10, Epoch: "e2"}, true)
	s.frame(6, &envelope{Action: actionPublish, Topic: "chat", Offset: []byte("2"), Data: []byte(`{"data":1,"from":"b"}`)})
	expect("a lower offset", StreamPosition{Offset: 2, Epoch: "e2"}, true)
	for _, bad := range []string{"2.5", "true", `"3"`, "null", "1e3", "99999999999999999999"} {
		s.frame(7, &envelope{Action: actionPublish, Topic: "chat", Offset: []byte(bad), Data: []byte(`{"data":1,"from":"b"}`)})
	}
	expect("offsets that are not integers", StreamPosition{Offset: 2, Epoch: "e2"}, true)
	s.subscribe(8, "chat", "h2", false, nil)
	s.frame(9, &envelope{Action: actionSubscribed, Topic: "chat", RID: "3", Recovered: []byte("false")})
	expect("a reply without a position", StreamPosition{Offset: 2, Epoch: "e2"}, true)
	s.subscribe(10, "chat", "h3", false, nil)
	out := s.frame(11, &envelope{Action: actionSubscribed, Topic: "chat", RID: "4", Recovered: []byte(`"yes"`)})
	if len(out) != 2 || out[0].Event.Type != evSubscription || out[0].Event.Recovered || out[0].Event.Offset != nil {
		t.Fatalf("a recovered member that is not a boolean: %+v", out)
	}
	expect("a recovered member that is not a boolean", StreamPosition{Offset: 2, Epoch: "e2"}, true)
	s.close(12)
	expect("after the end", StreamPosition{}, false)

	s = readySession(t, sessionConfig{reconnect: true, reconnectFactor: 2, reconnectInitial: 100, reconnectMax: 1000})
	s.subscribe(3, "chat", "h1", false, &StreamPosition{Offset: 5, Epoch: "e1"})
	s.unsubscribe(4, "chat", "h2")
	expect("unsubscribed", StreamPosition{}, false)
}
