package ksps

import (
	"encoding/json"
	"reflect"
	"testing"
)

// delivered is the Message a callback gets for frame: unwrapped by the session core, decoded by
// the driver.
func delivered(t *testing.T, frame string) Message {
	t.Helper()
	frames, err := decodeFrames([]byte(frame))
	if err != nil {
		t.Fatal(err)
	}
	s := &session{topics: newOrderedTopics()}
	var ev *event
	if frames[0].Action == actionDirectMessage {
		ev = s.frameDirect(&frames[0]).Event
	} else {
		ev = s.delivery(&frames[0], "").Event
	}
	return Message{Data: payloadDecoder{}.value(ev.Data), From: ev.From}
}

func TestTopicDeliveryUnwrapping(t *testing.T) {
	cases := []struct {
		frame string
		want  Message
	}{
		{`{"action":"publish","topic":"t","data":{"data":{"x":1},"from":"B"}}`, Message{Data: map[string]any{"x": 1.0}, From: "B"}},
		{`{"action":"publish","topic":"t","data":{"data":null,"from":"B"}}`, Message{Data: nil, From: "B"}},
		// A raw server publication without the "data" key is passed on as is.
		{`{"action":"publish","topic":"t","data":"raw"}`, Message{Data: "raw"}},
		{`{"action":"publish","topic":"t","data":{"Data":1}}`, Message{Data: map[string]any{"Data": 1.0}}},
		{`{"action":"publish","topic":"t"}`, Message{}},
		// The nested from wins, as in the Python and JavaScript clients; the top-level one fills in.
		{`{"action":"publish","topic":"t","from":"top","data":{"data":1,"from":"inner"}}`, Message{Data: 1.0, From: "inner"}},
		{`{"action":"publish","topic":"t","from":"top","data":{"data":1}}`, Message{Data: 1.0, From: "top"}},
	}
	for _, c := range cases {
		if got := delivered(t, c.frame); !reflect.DeepEqual(got, c.want) {
			t.Errorf("%s: got %#v, want %#v", c.frame, got, c.want)
		}
	}
}

func TestDirectDeliveryIsFlat(t *testing.T) {
	want := Message{Data: map[string]any{"data": 1.0, "from": "X"}, From: "A"}
	if got := delivered(t, `{"action":"direct_message","from":"A","data":{"data":1,"from":"X"}}`); !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v", got)
	}
}

func TestDecodeFramesAcceptsBatchesAndRejectsGarbage(t *testing.T) {
	frames, err := decodeFrames([]byte(` [{"action":"pong","id":"a"},{"action":"published","topic":"t"}]`))
	if err != nil || len(frames) != 2 || frames[1].Topic != "t" {
		t.Errorf("batch: %v, %v", frames, err)
	}
	if _, err := decodeFrames([]byte(`{"action":"q"t"}`)); err == nil {
		t.Error("invalid JSON must be reported")
	}
}

func TestEncodedFramesOmitEmptyMembersAndKeepHTML(t *testing.T) {
	data, _ := encodeData("<&>")
	got := string(encodeFrame(&envelope{Action: actionPublish, Topic: "t", Data: data, From: "A"}))
	if want := `{"action":"publish","topic":"t","data":"<&>","from":"A"}`; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	null, _ := encodeData(nil)
	if got := string(encodeFrame(&envelope{Action: actionPublish, Topic: "t", Data: null})); got != `{"action":"publish","topic":"t","data":null}` {
		t.Errorf("absent data must be sent as null, got %s", got)
	}
	raw, _ := encodeData(json.RawMessage(`{"pre":"encoded"}`))
	if string(raw) != `{"pre":"encoded"}` {
		t.Errorf("raw JSON is passed through, got %s", raw)
	}
}

func TestAckFrameShape(t *testing.T) {
	s := &session{cfg: sessionConfig{id: "B"}}
	got := string(encodeFrame(s.ackFrame("ack_1", false, "nope")))
	want := `{"action":"ack","data":{"ack_id":"ack_1","client_id":"B","success":false,"error":"nope"},"from":"B","ack_id":"ack_1"}`
	if got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}
