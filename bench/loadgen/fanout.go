package main

import (
	"flag"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// A ~110-byte JSON payload, the same as bench/fanout.py's.
var samplePayload = `{"sensor":"t-1","value":21.5,"unit":"C","seq":0,"pad":"` + strings.Repeat("x", 40) + `"}`

// receiver counts the publications one connection receives.
type receiver struct {
	conn   *Conn
	count  atomic.Int64
	doneAt atomic.Int64 // now() at the last expected delivery, 0 until then
}

// fanoutScenario: the publisher subscribes too (last, so its own copy comes after the others' in servers
// that fan out in subscription order) and keeps at most `window` publications in flight, counted by what
// its own subscription has received, so no queue grows without bound.
// With -url2 every other subscriber connects to that second node of a cluster (the publisher stays on the
// first), and setup waits until the first node counts all of them (`presence`), so no publication goes out
// before the cluster routes it to every subscriber.
func fanoutScenario(fs *flag.FlagSet) func() (map[string]any, func() (map[string]any, error), error) {
	url := fs.String("url", "", "server WebSocket URL")
	url2 := fs.String("url2", "", "a second node's WebSocket URL: every other subscriber connects there")
	subscribers := fs.Int("subscribers", 100, "subscribing connections, the publisher's own included")
	messages := fs.Int("messages", 20000, "publications")
	window := fs.Int("window", 0, "publications in flight (default: 20000 / subscribers, at least 1)")
	parallel := fs.Int("parallel", 32, "connections set up at once")
	timeout := fs.Duration("timeout", 60*time.Second, "give up the measured phase after this long")
	return func() (map[string]any, func() (map[string]any, error), error) {
		if *window == 0 {
			*window = max(1, 20000 / *subscribers)
		}
		conns, err := connectSubscribers(*url, *url2, *subscribers-1, *parallel)
		if err != nil {
			return nil, nil, err
		}
		publisher, err := dialRegistered(*url, "publisher", "bench", 16384, 10*time.Second)
		if err != nil {
			closeAll(conns)
			return nil, nil, fmt.Errorf("publisher: %w", err)
		}
		if *url2 != "" {
			if err := awaitMembers(publisher, "bench", *subscribers, 20*time.Second); err != nil {
				closeAll(append(conns, publisher))
				return nil, nil, err
			}
		}
		receivers := make([]*receiver, 0, *subscribers)
		for _, conn := range append(conns, publisher) {
			receivers = append(receivers, &receiver{conn: conn})
		}
		ready := map[string]any{"subscribers": *subscribers, "window": *window}
		return ready, func() (map[string]any, error) {
			return runFanout(receivers, *messages, *window, *timeout)
		}, nil
	}
}

func runFanout(receivers []*receiver, messages, window int, timeout time.Duration) (map[string]any, error) {
	publisher := receivers[len(receivers)-1]
	credits := make(chan struct{}, window)
	var wg sync.WaitGroup
	wg.Add(len(receivers))
	for _, r := range receivers {
		go r.countPublications(int64(messages), &wg, r == publisher, credits)
	}
	start := now()
	sendErr := make(chan error, 1)
	go func() {
		for i := 0; i < messages; i++ {
			credits <- struct{}{}
			if err := publisher.conn.Send(proto.publishFrame("bench", samplePayload, "publisher")); err != nil {
				sendErr <- err
				return
			}
		}
	}()
	finished := make(chan struct{})
	go func() { wg.Wait(); close(finished) }()
	timedOut := false
	select {
	case <-finished:
	case err := <-sendErr:
		return nil, fmt.Errorf("publish: %w", err)
	case <-time.After(timeout):
		timedOut = true
	}
	end := now()
	if !timedOut {
		end = latest(receivers)
	}
	var delivered int64
	for _, r := range receivers {
		delivered += r.count.Load()
	}
	elapsed := float64(end-start) / 1e9
	return map[string]any{
		"deliveries":       delivered,
		"expected":         int64(messages) * int64(len(receivers)),
		"elapsed_s":        elapsed,
		"deliveries_per_s": float64(delivered) / elapsed,
		"timed_out":        timedOut,
	}, nil
}

// latest is the time the last receiver got its last expected delivery.
func latest(receivers []*receiver) int64 {
	var last int64
	for _, r := range receivers {
		last = max(last, r.doneAt.Load())
	}
	return last
}

// countPublications reads until the connection closes; the publisher's own copies release window credits.
// A frame may carry several publications (Centrifugo packs them), so the count may step over the target.
func (r *receiver) countPublications(target int64, wg *sync.WaitGroup, own bool, credits chan struct{}) {
	for {
		frame, err := r.conn.Next()
		if err != nil {
			return
		}
		n := int64(proto.publications(r.conn, frame, nil))
		if n == 0 {
			continue
		}
		if own {
			for range n {
				<-credits
			}
		}
		if count := r.count.Add(n); count >= target && count-n < target {
			r.doneAt.Store(now())
			wg.Done()
		}
	}
}
