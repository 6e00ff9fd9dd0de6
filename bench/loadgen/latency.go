package main

import (
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
func latencyScenario(fs *flag.FlagSet) func() (map[string]any, func() (map[string]any, error), error) {
	url := fs.String("url", "", "server WebSocket URL")
	subscribers := fs.Int("subscribers", 100, "subscribers")
	rate := fs.Float64("rate", 1000, "publications per second")
	duration := fs.Duration("duration", 5*time.Second, "measured publishing time, after the warm-up")
	warmup := fs.Duration("warmup", time.Second, "publishing time before samples are kept")
	parallel := fs.Int("parallel", 32, "connections set up at once")
	return func() (map[string]any, func() (map[string]any, error), error) {
		conns, err := connectAllOrFail(*url, "sub", "bench", *subscribers, *parallel, 10*time.Second)
		if err != nil {
			return nil, nil, err
		}
		publisher, err := dial(*url, 16384, 10*time.Second)
		if err == nil {
			err = proto.register(publisher, "publisher", "", 10*time.Second)
		}
		if err != nil {
			closeAll(conns)
			return nil, nil, fmt.Errorf("publisher: %w", err)
		}
		receivers := make([]*stampedReceiver, len(conns))
		for i, conn := range conns {
			receivers[i] = &stampedReceiver{conn: conn}
		}
		ready := map[string]any{"subscribers": *subscribers, "rate": *rate}
		return ready, func() (map[string]any, error) {
			return runLatency(publisher, receivers, *rate, *warmup, *duration)
		}, nil
	}
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
		n := proto.publications(r.conn, frame, func(publication []byte) {
			sentAt, err := strconv.ParseInt(string(field(publication, "ts")), 10, 64)
			if err == nil && sentAt >= warmupEnd {
				r.samples = append(r.samples, arrived-sentAt)
			}
		})
		r.received.Add(int64(n))
	}
}
