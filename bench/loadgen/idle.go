package main

import (
	"flag"
	"sync/atomic"
	"time"
)

// idleScenario opens and registers connections, then holds them (answering the server's keepalive pings)
// until told to close them, so the harness can read the server's memory in between. Connections that fail are
// counted, not fatal: the last level deliberately goes past the server's open-file limit.
func idleScenario(fs *flag.FlagSet) func() (map[string]any, func() (map[string]any, error), error) {
	url := fs.String("url", "", "server WebSocket URL")
	count := fs.Int("conns", 1000, "connections")
	prefix := fs.String("prefix", "idle", "client ID prefix (unique per load generator process)")
	parallel := fs.Int("parallel", 64, "connections set up at once")
	timeout := fs.Duration("timeout", 5*time.Second, "connect, upgrade and registration timeout, each")
	return func() (map[string]any, func() (map[string]any, error), error) {
		start := time.Now()
		conns, failed, err := connectAll(*url, *prefix, "", *count, *parallel, 1024, *timeout)
		setup := time.Since(start).Seconds()
		var dropped atomic.Int64
		connected := 0
		for _, conn := range conns {
			if conn == nil {
				continue
			}
			connected++
			go func() {
				for {
					frame, err := conn.Next()
					if err != nil {
						dropped.Add(1)
						return
					}
					proto.publications(conn, frame, nil) // answers Centrifugo's keepalive pings
				}
			}()
		}
		ready := map[string]any{"connected": connected, "failed": failed, "setup_s": setup}
		if err != nil {
			ready["first_error"] = err.Error()
		}
		return ready, func() (map[string]any, error) {
			stillOpen := int64(connected) - dropped.Load()
			closeAll(conns)
			return map[string]any{"connected": connected, "failed": failed, "still_open": stillOpen}, nil
		}, nil
	}
}
