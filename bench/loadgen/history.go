package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Topic history (spec/protocol.md §14): the recovery and memory scenarios.

var (
	publishedPrefix  = []byte(`{"action":"published"`)
	subscribedPrefix = []byte(`{"action":"subscribed"`)
)

// publishAll publishes total frames (frame(i) builds the i-th) on conn, which must not be subscribed to what
// it publishes, with at most window awaiting their `published` reply; it returns once every one was answered,
// so the server has processed (and kept) all of them.
func publishAll(conn *Conn, frame func(i int) []byte, total, window int, timeout time.Duration) error {
	credits := make(chan struct{}, window)
	answered := make(chan error, 1)
	go func() {
		for count := 0; count < total; {
			reply, err := conn.Next()
			if err != nil {
				answered <- err
				return
			}
			if bytes.HasPrefix(reply, errorPrefix) {
				answered <- fmt.Errorf("publish answered %s", reply)
				return
			}
			if bytes.HasPrefix(reply, publishedPrefix) {
				count++
				<-credits
			}
		}
		answered <- nil
	}()
	_ = conn.ws.SetReadDeadline(time.Now().Add(timeout))
	defer conn.ws.SetReadDeadline(time.Time{})
	for i := 0; i < total; i++ {
		select {
		case credits <- struct{}{}:
		case err := <-answered:
			return fmt.Errorf("after %d publications: %w", i, err)
		}
		if err := conn.Send(frame(i)); err != nil {
			return err
		}
	}
	return <-answered
}

// position is the stream position of a `history` or `subscribed` reply.
type position struct {
	Offset    *int64 `json:"offset"`
	Epoch     string `json:"epoch"`
	Recovered bool   `json:"recovered"`
}

func parsePosition(reply []byte) (position, error) {
	var p position
	if err := json.Unmarshal(reply, &p); err != nil {
		return p, fmt.Errorf("%s: %w", reply, err)
	}
	if p.Offset == nil {
		return p, fmt.Errorf("no stream position in %s (history off for the topic, or its engine unreachable)", reply)
	}
	return p, nil
}

// recoverScenario: a publisher publishes `messages` publications to a topic with history while the
// recovering connection is not subscribed (its position taken before with a `history` read, limit 0); the
// measured phase is `rounds` times: subscribe with `since` that position, receive every missed publication
// and the `subscribed` reply (which must say recovered:true), unsubscribe. With -url2 the recovering
// connection is on that second node (it reads the history the first node wrote to Redis).
func recoverScenario(fs *flag.FlagSet) func() (map[string]any, func() (map[string]any, error), error) {
	url := fs.String("url", "", "server WebSocket URL (the publisher)")
	url2 := fs.String("url2", "", "another node's WebSocket URL for the recovering connection")
	messages := fs.Int("messages", 10000, "publications missed, then recovered")
	rounds := fs.Int("rounds", 3, "recoveries in the measured phase")
	window := fs.Int("window", 500, "publications awaiting their published reply")
	timeout := fs.Duration("timeout", 60*time.Second, "give up a phase after this long")
	return func() (map[string]any, func() (map[string]any, error), error) {
		publisher, err := dialRegistered(*url, "publisher", "", 16384, 10*time.Second)
		if err != nil {
			return nil, nil, fmt.Errorf("publisher: %w", err)
		}
		recovererURL := *url
		if *url2 != "" {
			recovererURL = *url2
		}
		recoverer, err := dialRegistered(recovererURL, "recoverer", "", 65536, 10*time.Second)
		var since position
		if err == nil {
			var reply []byte
			reply, err = recoverer.request(`{"action":"history","topic":"recover","limit":0}`, 10*time.Second)
			if err == nil {
				since, err = parsePosition(reply)
			}
		}
		if err == nil {
			frame := []byte(`{"action":"publish","topic":"recover","data":` + samplePayload + `,"from":"publisher"}`)
			err = publishAll(publisher, func(int) []byte { return frame }, *messages, *window, *timeout)
		}
		if err != nil {
			closeAll([]*Conn{publisher, recoverer})
			return nil, nil, fmt.Errorf("recover setup: %w", err)
		}
		ready := map[string]any{"messages": *messages, "since_offset": *since.Offset, "epoch": since.Epoch}
		return ready, func() (map[string]any, error) {
			return runRecoveries(recoverer, since, *messages, *rounds, *timeout)
		}, nil
	}
}

func runRecoveries(conn *Conn, since position, messages, rounds int, timeout time.Duration) (map[string]any, error) {
	subscribe := []byte(fmt.Sprintf(`{"action":"subscribe","topic":"recover","from":"recoverer","since":`+
		`{"offset":%d,"epoch":%q}}`, *since.Offset, since.Epoch))
	var times []float64 // milliseconds
	for round := 0; round < rounds; round++ {
		_ = conn.ws.SetReadDeadline(time.Now().Add(timeout))
		start := now()
		if err := conn.Send(subscribe); err != nil {
			return nil, err
		}
		received := 0
		var reply position
		for {
			frame, err := conn.Next()
			if err != nil {
				return nil, fmt.Errorf("round %d, after %d publications: %w", round, received, err)
			}
			if bytes.HasPrefix(frame, publishPrefix) {
				received++
				continue
			}
			if bytes.HasPrefix(frame, errorPrefix) {
				return nil, fmt.Errorf("subscribe answered %s", frame)
			}
			if bytes.HasPrefix(frame, subscribedPrefix) {
				if reply, err = parsePosition(frame); err != nil {
					return nil, err
				}
				break
			}
		}
		times = append(times, float64(now()-start)/1e6)
		_ = conn.ws.SetReadDeadline(time.Time{})
		if received != messages || !reply.Recovered {
			return nil, fmt.Errorf("round %d: %d of %d publications recovered, recovered:%v", round, received,
				messages, reply.Recovered)
		}
		if _, err := conn.request(`{"action":"unsubscribe","topic":"recover","from":"recoverer"}`, timeout); err != nil {
			return nil, fmt.Errorf("unsubscribe: %w", err)
		}
	}
	first := times[0]
	slices.Sort(times)
	median := times[len(times)/2]
	return map[string]any{
		"recovered":       messages,
		"rounds":          rounds,
		"recovery_ms":     median,
		"recovery_min_ms": times[0],
		"first_ms":        first,
		"recovered_per_s": float64(messages) / (median / 1e3),
	}, nil
}

// keepScenario: publish `per-topic` publications of a `payload`-byte JSON value to each of `topics` topics
// that nobody subscribes to, during setup (every one answered by `published`), so that the harness reads
// the memory the server (or Redis) keeps for them. The measured phase does nothing.
func keepScenario(fs *flag.FlagSet) func() (map[string]any, func() (map[string]any, error), error) {
	url := fs.String("url", "", "server WebSocket URL")
	topics := fs.Int("topics", 100, "topics published to, round robin")
	perTopic := fs.Int("per-topic", 1000, "publications per topic")
	payload := fs.Int("payload", 110, "bytes of each publication's JSON data")
	window := fs.Int("window", 500, "publications awaiting their published reply")
	timeout := fs.Duration("timeout", 120*time.Second, "give up after this long")
	return func() (map[string]any, func() (map[string]any, error), error) {
		publisher, err := dialRegistered(*url, "publisher", "", 16384, 10*time.Second)
		if err != nil {
			return nil, nil, fmt.Errorf("publisher: %w", err)
		}
		data := `{"pad":"` + strings.Repeat("x", max(0, *payload-10)) + `"}` // exactly `payload` bytes from 10 up
		frames := make([][]byte, *topics)
		for t := range frames {
			frames[t] = []byte(`{"action":"publish","topic":"keep.` + strconv.Itoa(t) + `","data":` + data +
				`,"from":"publisher"}`)
		}
		total := *topics * *perTopic
		started := time.Now()
		err = publishAll(publisher, func(i int) []byte { return frames[i%*topics] }, total, *window, *timeout)
		if err != nil {
			_ = publisher.ws.Close()
			return nil, nil, fmt.Errorf("keep: %w", err)
		}
		ready := map[string]any{
			"publications": total, "payload_bytes": len(data), "publish_s": time.Since(started).Seconds(),
		}
		return ready, func() (map[string]any, error) {
			return map[string]any{"publications": total}, nil
		}, nil
	}
}
