package main

import (
	"bytes"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// stampedReceiver records, for every publication it receives, how long ago it was sent.
type stampedReceiver struct {
	conn     *Conn
	received atomic.Int64
	samples  []int64 // nanoseconds, for publications sent after the warm-up
}

// latencyScenario: one publisher (not subscribed) publishes at a fixed rate; every publication carries its
// send time as a string ("ts", nanoseconds on this process's monotonic clock: strings survive the original
// server's float64 re-encoding of numbers), and every subscriber records its age on arrival.
// With -url2 the subscribers connect to that other node of a cluster; with -server-pids (the processes behind
// one port, `ksps serve --workers N`) each subscriber is placed on another worker than the publisher
// (placement.go): every delivery then crosses a node or a worker.
func latencyScenario(fs *flag.FlagSet) func() (map[string]any, func() (map[string]any, error), error) {
	url := fs.String("url", "", "server WebSocket URL")
	url2 := fs.String("url2", "", "another node's WebSocket URL for the subscribers (cross-node deliveries)")
	subscribers := fs.Int("subscribers", 100, "subscribers")
	rate := fs.Float64("rate", 1000, "publications per second")
	duration := fs.Duration("duration", 5*time.Second, "measured publishing time, after the warm-up")
	warmup := fs.Duration("warmup", time.Second, "publishing time before samples are kept")
	parallel := fs.Int("parallel", 32, "connections set up at once")
	var pids pidList
	fs.Var(&pids, "server-pids", "the server's processes: put the subscribers on others than the publisher's")
	probes := fs.Int("probes", 32, "with -server-pids: connections dialed first to measure the kernel's share")
	return func() (map[string]any, func() (map[string]any, error), error) {
		ready := map[string]any{"subscribers": *subscribers, "rate": *rate}
		var conns []*Conn
		var publisher *Conn
		var err error
		if len(pids) > 0 {
			publisher, conns, err = placeSubscribersApart(*url, pids, *probes, *subscribers, ready)
		} else {
			subscriberURL := *url
			if *url2 != "" {
				subscriberURL = *url2
			}
			publisher, conns, err = dialPublisherAndSubscribers(*url, subscriberURL, *subscribers, *parallel)
		}
		if err == nil && (len(pids) > 0 || *url2 != "") {
			err = awaitDeliveries(publisher, conns, 10*time.Second)
		}
		if err != nil {
			return nil, nil, err
		}
		receivers := make([]*stampedReceiver, len(conns))
		for i, conn := range conns {
			receivers[i] = &stampedReceiver{conn: conn}
		}
		return ready, func() (map[string]any, error) {
			return runLatency(publisher, receivers, *rate, *warmup, *duration)
		}, nil
	}
}

func dialPublisherAndSubscribers(url, subscriberURL string, subscribers, parallel int) (*Conn, []*Conn, error) {
	conns, err := connectAllOrFail(subscriberURL, "sub", "bench", subscribers, parallel, 10*time.Second)
	if err != nil {
		return nil, nil, err
	}
	publisher, err := dialRegistered(url, "publisher", "", 16384, 10*time.Second)
	if err != nil {
		closeAll(conns)
		return nil, nil, fmt.Errorf("publisher: %w", err)
	}
	return publisher, conns, nil
}

// awaitDeliveries publishes probes (no "ts": not counted) until every subscriber has received one: the
// subscriptions made on another node or worker have reached the publisher's through the cluster.
func awaitDeliveries(publisher *Conn, conns []*Conn, timeout time.Duration) error {
	arrived := make(chan struct{}, len(conns))
	for _, conn := range conns {
		go func() {
			for {
				frame, err := conn.Next()
				if err != nil {
					return
				}
				if bytes.HasPrefix(frame, publishPrefix) {
					arrived <- struct{}{}
					return
				}
			}
		}()
	}
	deadline := time.After(timeout)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for waiting := len(conns); waiting > 0; {
		if err := publisher.Send([]byte(`{"action":"publish","topic":"bench","data":{"probe":true}}`)); err != nil {
			return fmt.Errorf("probe: %w", err)
		}
		for drained := false; !drained && waiting > 0; {
			select {
			case <-arrived:
				waiting--
			case <-tick.C:
				drained = true
			case <-deadline:
				return fmt.Errorf("%d of %d subscribers got no probe within %s", waiting, len(conns), timeout)
			}
		}
	}
	return nil
}

// placeSubscribersApart connects the publisher, then each subscriber on another process than the publisher's.
func placeSubscribersApart(url string, pids []int, probes, subscribers int, ready map[string]any) (
	*Conn, []*Conn, error,
) {
	where := newPlacement(pids)
	if err := where.probe(url, probes, 10*time.Second); err != nil {
		return nil, nil, fmt.Errorf("probing the placement: %w", err)
	}
	ready["kernel_share"] = where.report()
	publisher, publisherPid, err := where.dialAway(url, 0, 10*time.Second)
	if err == nil {
		err = publisher.register("publisher", "", 10*time.Second)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("publisher: %w", err)
	}
	conns := make([]*Conn, 0, subscribers)
	for i := 0; i < subscribers; i++ {
		conn, _, err := where.dialAway(url, publisherPid, 10*time.Second)
		if err == nil {
			err = conn.register(fmt.Sprintf("sub-%d", i), "bench", 10*time.Second)
		}
		if err != nil {
			closeAll(append(conns, publisher))
			return nil, nil, fmt.Errorf("subscriber %d: %w", i, err)
		}
		conns = append(conns, conn)
	}
	ready["publisher_pid"] = publisherPid
	ready["placement_dials"] = where.dialed - probes
	return publisher, conns, nil
}

func runLatency(publisher *Conn, receivers []*stampedReceiver, rate float64, warmup, duration time.Duration) (
	map[string]any, error,
) {
	// The ceiling broadcasts to every connection and the original server answers each publish: drain both.
	go func() {
		for {
			frame, err := publisher.Next()
			if err != nil {
				return
			}
			proto.publications(publisher, frame, nil) // answers what needs an answer
		}
	}()
	warmupEnd := now() + int64(warmup)
	var wg sync.WaitGroup
	for _, r := range receivers {
		wg.Add(1)
		go func() { defer wg.Done(); r.record(warmupEnd) }()
	}
	interval := time.Duration(float64(time.Second) / rate)
	start := time.Now()
	stop := start.Add(warmup + duration)
	pad := strings.Repeat("x", 60)
	sent := 0
	for next := start; next.Before(stop); next = next.Add(interval) {
		if wait := time.Until(next); wait > 0 {
			time.Sleep(wait)
		}
		data := `{"ts":"` + strconv.FormatInt(now(), 10) + `","pad":"` + pad + `"}`
		if err := publisher.Send(proto.publishFrame("bench", data, "publisher")); err != nil {
			return nil, fmt.Errorf("publish: %w", err)
		}
		sent++
	}
	publishedFor := time.Since(start)
	// Let the last publications arrive (bounded: a server that drops some must not hang the benchmark).
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) && !allReceived(receivers, int64(sent)) {
		time.Sleep(5 * time.Millisecond)
	}
	var received int64
	for _, r := range receivers {
		received += r.received.Load()
		_ = r.conn.ws.Close()
	}
	_ = publisher.ws.Close()
	wg.Wait()
	var samples []int64
	for _, r := range receivers {
		samples = append(samples, r.samples...)
	}
	if len(samples) == 0 {
		return nil, fmt.Errorf("no publication arrived after the warm-up (%d sent)", sent)
	}
	slices.Sort(samples)
	micros := func(q float64) float64 { return float64(samples[int(q*float64(len(samples)-1))]) / 1e3 }
	return map[string]any{
		"published":            sent,
		"publications_per_s":   float64(sent) / publishedFor.Seconds(),
		"deliveries":           received,
		"expected":             int64(sent) * int64(len(receivers)),
		"samples":              len(samples),
		"p50_us":               micros(0.5),
		"p90_us":               micros(0.9),
		"p99_us":               micros(0.99),
		"p999_us":              micros(0.999),
		"max_us":               float64(samples[len(samples)-1]) / 1e3,
		"deliveries_per_s_avg": float64(received) / publishedFor.Seconds(),
	}, nil
}

func allReceived(receivers []*stampedReceiver, sent int64) bool {
	for _, r := range receivers {
		if r.received.Load() < sent {
			return false
		}
	}
	return true
}

// record reads until the connection closes.
func (r *stampedReceiver) record(warmupEnd int64) {
	for {
		frame, err := r.conn.Next()
		if err != nil {
			return
		}
		arrived := now()
		counted := 0
		proto.publications(r.conn, frame, func(publication []byte) {
			stamp := field(publication, "ts")
			if stamp == nil {
				return // a probe of awaitDeliveries
			}
			counted++
			sentAt, err := strconv.ParseInt(string(stamp), 10, 64)
			if err == nil && sentAt >= warmupEnd {
				r.samples = append(r.samples, arrived-sentAt)
			}
		})
		r.received.Add(int64(counted))
	}
}
