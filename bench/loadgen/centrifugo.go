package main

import (
	"bytes"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"
)

// centrifugoProtocol is Centrifugo's bidirectional JSON protocol (v2, the one of Centrifugo v5 and v6 on
// /connection/websocket), as its client SDKs speak it:
//
//   - commands carry an "id" the reply echoes: {"id":1,"connect":{}}, {"id":2,"subscribe":{"channel":"c"}},
//     {"id":3,"publish":{"channel":"c","data":{...}}}; a refusal is a reply with "error";
//   - publications arrive as pushes, {"push":{"channel":"c","pub":{"data":{...},...}}};
//   - the server packs several replies and pushes into one WebSocket frame, separated by newlines;
//   - its keepalive is an application-level ping, an empty object {} in a frame, which the client must answer
//     with {} (the connect reply says so with "pong":true) or be disconnected.
type centrifugoProtocol struct{}

var (
	centrifugoPushPrefix = []byte(`{"push":{"channel":`)
	centrifugoPubMember  = []byte(`"pub":{`)
	centrifugoPing       = []byte(`{}`)
	centrifugoError      = []byte(`"error":{`)
)

// centrifugoIDs numbers the commands; ids must be positive, and unique per connection is what clients do.
var centrifugoIDs atomic.Uint32

func nextCentrifugoID() uint32 { return centrifugoIDs.Add(1) }

func (centrifugoProtocol) register(c *Conn, _ /* id */, topic string, timeout time.Duration) error {
	// Anonymous connect: the target's configuration allows it (bench/harness/centrifugo.py); the client name
	// is not needed, as Centrifugo gives every connection its own ID.
	if err := centrifugoRequest(c, `"connect":{}`, timeout); err != nil {
		return fmt.Errorf("connect: %w", err)
	}
	if topic == "" {
		return nil
	}
	if err := centrifugoRequest(c, `"subscribe":{"channel":"`+topic+`"}`, timeout); err != nil {
		return fmt.Errorf("subscribe to %s: %w", topic, err)
	}
	return nil
}

func (centrifugoProtocol) publishFrame(topic, data, _ /* from */ string) []byte {
	id := strconv.FormatUint(uint64(nextCentrifugoID()), 10)
	return []byte(`{"id":` + id + `,"publish":{"channel":"` + topic + `","data":` + data + `}}`)
}

func (centrifugoProtocol) publications(c *Conn, frame []byte, each func([]byte)) int {
	count := 0
	for len(frame) > 0 {
		line := frame
		if end := bytes.IndexByte(frame, '\n'); end >= 0 {
			line, frame = frame[:end], frame[end+1:]
		} else {
			frame = nil
		}
		switch {
		case bytes.Equal(line, centrifugoPing):
			// A failed answer surfaces as the connection's next read error.
			_ = c.Send(centrifugoPing)
		case bytes.HasPrefix(line, centrifugoPushPrefix) && bytes.Contains(line, centrifugoPubMember):
			count++
			if each != nil {
				each(line)
			}
		}
	}
	return count
}

// centrifugoRequest sends one command (the members after "id") and waits for its reply, answering pings and
// passing over pushes meanwhile; a reply with "error" is returned as an error.
func centrifugoRequest(c *Conn, command string, timeout time.Duration) error {
	id := strconv.FormatUint(uint64(nextCentrifugoID()), 10)
	frame := `{"id":` + id + `,` + command + `}`
	if err := c.Send([]byte(frame)); err != nil {
		return err
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(timeout))
	defer c.ws.SetReadDeadline(time.Time{})
	replyPrefix := []byte(`{"id":` + id + `,`)
	for {
		received, err := c.Next()
		if err != nil {
			return err
		}
		for _, line := range bytes.Split(received, []byte{'\n'}) {
			if bytes.Equal(line, centrifugoPing) {
				_ = c.Send(centrifugoPing)
				continue
			}
			if !bytes.HasPrefix(line, replyPrefix) {
				continue
			}
			if bytes.Contains(line, centrifugoError) {
				return fmt.Errorf("%s answered %s", frame, line)
			}
			return nil
		}
	}
}
