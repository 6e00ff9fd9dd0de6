// Command loadgen drives a server that speaks the KSPS protocol, for the benchmark suite (bench/run.py).
//
// Every subcommand works in two phases so that the harness can measure the server around the second one only:
//
//  1. setup: connect and register (and subscribe), then print one JSON line {"event":"ready",...};
//  2. measure: after a line on stdin, run the scenario, then print {"event":"result",...};
//  3. exit when stdin closes.
//
// The result line carries the load generator's own CPU time over the measured phase (getrusage), so a reader
// can tell whether the load generator, rather than the server, was the limit.
//
// Usage: loadgen SUBCOMMAND -url ws://127.0.0.1:PORT/ws/bus [flags]; subcommands: fanout, latency, ack, idle,
// connrate, recover, keep. `loadgen SUBCOMMAND -h` lists the flags of one. `-protocol centrifugo` speaks
// Centrifugo's JSON protocol instead of the KSPS one (protocol.go, centrifugo.go), for fanout, latency, idle
// and connrate.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"syscall"
	"time"
)

// scenario is one subcommand: it registers its flags, then setup returns the measured phase.
type scenario struct {
	help  string
	flags func(fs *flag.FlagSet) func() (ready map[string]any, measure func() (map[string]any, error), err error)
}

var scenarios = map[string]scenario{
	"fanout":   {"1 publisher -> N subscribers, deliveries per second", fanoutScenario},
	"latency":  {"publish-to-deliver latency at a fixed publication rate", latencyScenario},
	"ack":      {"publish_with_ack round trips per second, with a window of requests in flight", ackScenario},
	"idle":     {"hold N registered idle connections until told to close them", idleScenario},
	"connrate": {"connect, register and close connections as fast as possible", connrateScenario},
	"recover":  {"topic history: time to recover N missed publications with subscribe since", recoverScenario},
	"keep":     {"topic history: publish N publications to T topics nobody reads, for the memory kept", keepScenario},
}

func main() {
	if len(os.Args) < 2 || scenarios[os.Args[1]].flags == nil {
		fmt.Fprintln(os.Stderr, "usage: loadgen SUBCOMMAND [flags]; subcommands:")
		for name, s := range scenarios {
			fmt.Fprintf(os.Stderr, "  %-9s %s\n", name, s.help)
		}
		os.Exit(2)
	}
	// Fewer collections: the generator allocates little, and its CPU should go to the sockets.
	debug.SetGCPercent(400)
	fs := flag.NewFlagSet(os.Args[1], flag.ExitOnError)
	setup := scenarios[os.Args[1]].flags(fs)
	protocolName := fs.String("protocol", "ksps", "wire protocol of the server: ksps or centrifugo (protocol.go)")
	_ = fs.Parse(os.Args[2:])
	if err := chooseProtocol(*protocolName, os.Args[1]); err != nil {
		fail(err)
	}
	ready, measure, err := setup()
	if err != nil {
		fail(err)
	}
	ready["event"] = "ready"
	emit(ready)
	// The harness samples the server here, then says go.
	stdin := bufio.NewReader(os.Stdin)
	if _, err := stdin.ReadString('\n'); err != nil {
		fail(fmt.Errorf("stdin closed before go: %w", err))
	}
	cpuBefore, wallBefore := cpuSeconds(), time.Now()
	result, err := measure()
	if err != nil {
		fail(err)
	}
	result["event"] = "result"
	result["loadgen_cpu_s"] = cpuSeconds() - cpuBefore
	result["loadgen_wall_s"] = time.Since(wallBefore).Seconds()
	emit(result)
	// The harness samples the server again, then closes stdin; the connections close when the process exits,
	// so the server's work of closing them stays out of the measured window.
	_, _ = io.Copy(io.Discard, stdin)
}

func emit(fields map[string]any) {
	line, err := json.Marshal(fields)
	if err != nil {
		fail(err)
	}
	fmt.Println(string(line))
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "loadgen:", err)
	os.Exit(1)
}

// epoch is the zero of now(); all connections of one process share this clock.
var epoch = time.Now()

// now is monotonic nanoseconds since the process started.
func now() int64 { return int64(time.Since(epoch)) }

// cpuSeconds is the user+system CPU time this process used so far.
func cpuSeconds() float64 {
	var usage syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &usage); err != nil {
		return 0
	}
	return float64(usage.Utime.Nano()+usage.Stime.Nano()) / 1e9
}
