package main

import (
	"flag"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// connrateScenario measures new connections per second: each one is a TCP connect, the WebSocket upgrade,
// the registration ping and its pong, then a close frame.
func connrateScenario(fs *flag.FlagSet) func() (map[string]any, func() (map[string]any, error), error) {
	url := fs.String("url", "", "server WebSocket URL")
	count := fs.Int("conns", 3000, "connections")
	parallel := fs.Int("parallel", 32, "connections in progress at once")
	timeout := fs.Duration("timeout", 5*time.Second, "connect, upgrade and registration timeout, each")
	return func() (map[string]any, func() (map[string]any, error), error) {
		probe, err := dialRegistered(*url, "probe", "", 4096, *timeout)
		if err == nil {
			probe.Close()
		}
		if err != nil {
			return nil, nil, fmt.Errorf("probe connection: %w", err)
		}
		return map[string]any{"conns": *count}, func() (map[string]any, error) {
			return runConnrate(*url, *count, *parallel, *timeout)
		}, nil
	}
}

func runConnrate(url string, count, parallel int, timeout time.Duration) (map[string]any, error) {
	var next, failed atomic.Int64
	var firstErr atomic.Value
	var wg sync.WaitGroup
	start := time.Now()
	for w := 0; w < parallel; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(count) {
					return
				}
				conn, err := dial(url, 4096, timeout)
				if err == nil {
					err = proto.register(conn, fmt.Sprintf("c-%d", i), "", timeout)
					conn.Close()
				}
				if err != nil {
					failed.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start).Seconds()
	ok := int64(count) - failed.Load()
	result := map[string]any{
		"connections":       ok,
		"failed":            failed.Load(),
		"elapsed_s":         elapsed,
		"connections_per_s": float64(ok) / elapsed,
	}
	if e := firstErr.Load(); e != nil {
		result["first_error"] = e
	}
	return result, nil
}
