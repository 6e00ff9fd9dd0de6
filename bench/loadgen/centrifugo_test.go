package main

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// The peer in these tests replays frames as Centrifugo v6.9.1 sent them (recorded against the bench target),
// over a real WebSocket on loopback: what matters is that the load generator reads Centrifugo's framing
// (replies and pushes packed into one frame, newline-separated; {} pings) and answers as its SDKs do.

// centrifugoPeer serves one connection with script, which gets the server side of it.
func centrifugoPeer(t *testing.T, script func(ws *websocket.Conn)) string {
	t.Helper()
	upgrader := websocket.Upgrader{}
	done := make(chan struct{})
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			t.Errorf("upgrade: %v", err)
			return
		}
		defer ws.Close()
		defer close(done)
		_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
		script(ws)
	}))
	t.Cleanup(func() {
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Error("the peer's script did not finish")
		}
		server.Close()
	})
	return "ws" + strings.TrimPrefix(server.URL, "http") + "/connection/websocket"
}

// expectCommand reads one frame and checks it holds want; returns the command's id member ({"id":N,).
func expectCommand(t *testing.T, ws *websocket.Conn, want string) string {
	t.Helper()
	_, frame, err := ws.ReadMessage()
	if err != nil {
		t.Errorf("reading %s: %v", want, err)
		return ""
	}
	if !bytes.Contains(frame, []byte(want)) || !bytes.HasPrefix(frame, []byte(`{"id":`)) {
		t.Errorf("got %s, want a command with %s", frame, want)
		return ""
	}
	return string(frame[:bytes.IndexByte(frame, ',')+1])
}

func send(t *testing.T, ws *websocket.Conn, lines ...string) {
	t.Helper()
	if err := ws.WriteMessage(websocket.TextMessage, []byte(strings.Join(lines, "\n"))); err != nil {
		t.Errorf("send: %v", err)
	}
}

const recordedPush = `{"push":{"channel":"bench","pub":{"data":{"ts":"%s","pad":"x"},` +
	`"info":{"user":"","client":"dd0d0407-5807-4266-988c-ea706143e901"}}}}`

func push(ts string) string { return strings.Replace(recordedPush, "%s", ts, 1) }

func TestCentrifugoRegisterSubscribesAndAnswersPingsOnTheWay(t *testing.T) {
	pongs := make(chan string, 2)
	url := centrifugoPeer(t, func(ws *websocket.Conn) {
		id := expectCommand(t, ws, `"connect":{}`)
		// A ping before the reply: the client must answer it and keep waiting for its reply.
		send(t, ws, `{}`)
		_, pong, _ := ws.ReadMessage()
		pongs <- string(pong)
		send(t, ws, id+`"connect":{"client":"c1","version":"6.9.1 OSS","ping":25,"pong":true}}`)
		id = expectCommand(t, ws, `"subscribe":{"channel":"bench"}`)
		// Another client's push may come first, packed with the reply.
		send(t, ws, push("1"), id+`"subscribe":{}}`)
		_, _, _ = ws.ReadMessage() // until the client closes
	})
	conn, err := dial(url, 4096, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if err := (centrifugoProtocol{}).register(conn, "sub-1", "bench", 5*time.Second); err != nil {
		t.Fatalf("register: %v", err)
	}
	if pong := <-pongs; pong != `{}` {
		t.Errorf("answered the ping with %q, want {}", pong)
	}
}

func TestCentrifugoRegisterReportsARefusal(t *testing.T) {
	url := centrifugoPeer(t, func(ws *websocket.Conn) {
		id := expectCommand(t, ws, `"connect":{}`)
		send(t, ws, id+`"error":{"code":101,"message":"unauthorized"}}`)
		_, _, _ = ws.ReadMessage()
	})
	conn, err := dial(url, 4096, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	err = (centrifugoProtocol{}).register(conn, "sub-1", "", 5*time.Second)
	if err == nil || !strings.Contains(err.Error(), "unauthorized") {
		t.Fatalf("register: got %v, want the server's unauthorized error", err)
	}
}

func TestCentrifugoPublicationsCountsEveryPushInAFrameAndAnswersPings(t *testing.T) {
	pongs := make(chan string, 1)
	url := centrifugoPeer(t, func(ws *websocket.Conn) {
		// As recorded: the publisher's own push, its publish reply, the next push, a ping at the end.
		send(t, ws, push("10"), `{"id":4,"publish":{}}`, push("20"), `{"id":5,"publish":{}}`, push("30"), `{}`)
		_, pong, _ := ws.ReadMessage()
		pongs <- string(pong)
	})
	conn, err := dial(url, 4096, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	frame, err := conn.Next()
	if err != nil {
		t.Fatal(err)
	}
	var stamps []string
	n := (centrifugoProtocol{}).publications(conn, frame, func(publication []byte) {
		stamps = append(stamps, string(field(publication, "ts")))
	})
	if n != 3 || strings.Join(stamps, ",") != "10,20,30" {
		t.Errorf("got %d publications with ts %v, want 3: 10, 20, 30", n, stamps)
	}
	if pong := <-pongs; pong != `{}` {
		t.Errorf("answered the ping with %q, want {}", pong)
	}
}

func TestCentrifugoPublishFramesCarryDistinctPositiveIDs(t *testing.T) {
	first := string((centrifugoProtocol{}).publishFrame("bench", `{"a":1}`, "publisher"))
	second := string((centrifugoProtocol{}).publishFrame("bench", `{"a":1}`, "publisher"))
	if first == second || !strings.HasSuffix(first, `,"publish":{"channel":"bench","data":{"a":1}}}`) ||
		strings.HasPrefix(first, `{"id":0,`) {
		t.Errorf("frames %s and %s: want distinct positive ids and the data as given", first, second)
	}
}

func TestChooseProtocolRefusesAckForCentrifugo(t *testing.T) {
	defer func() { proto = kspsProtocol{} }()
	if err := chooseProtocol("centrifugo", "ack"); err == nil {
		t.Error("centrifugo with ack: want an error, Centrifugo has no acknowledgements")
	}
	if err := chooseProtocol("mqtt", "fanout"); err == nil {
		t.Error("an unknown protocol: want an error")
	}
	if err := chooseProtocol("centrifugo", "fanout"); err != nil || proto != (centrifugoProtocol{}) {
		t.Errorf("centrifugo with fanout: %v", err)
	}
}
