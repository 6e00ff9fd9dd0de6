package main

import (
	"bytes"
	"flag"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

var successTrue = []byte(`"success":true`)

// ackScenario: a requester publishes with acknowledgement to a topic that one subscriber (the acker) answers,
// keeping `inflight` requests open (1 = sequential round trips). Counts complete ack_response frames.
// With -url2 the acker connects to that other node of a cluster: every round trip then crosses nodes twice.
// With -server-pids (the processes behind one port, `ksps serve --workers N`) the acker is placed on another
// worker than the requester (placement.go): the same two hops, between workers.
func ackScenario(fs *flag.FlagSet) func() (map[string]any, func() (map[string]any, error), error) {
	url := fs.String("url", "", "server WebSocket URL")
	url2 := fs.String("url2", "", "another node's WebSocket URL for the acker (cross-node round trips)")
	inflight := fs.Int("inflight", 1, "requests in flight")
	duration := fs.Duration("duration", 3*time.Second, "time spent issuing requests")
	var pids pidList
	fs.Var(&pids, "server-pids", "the server's processes: put the acker on another one than the requester")
	probes := fs.Int("probes", 32, "with -server-pids: connections dialed first to measure the kernel's share")
	return func() (map[string]any, func() (map[string]any, error), error) {
		ackerURL := *url
		if *url2 != "" {
			ackerURL = *url2
		}
		ready := map[string]any{"inflight": *inflight}
		var acker, requester *Conn
		var err error
		if len(pids) > 0 {
			acker, requester, err = placeApart(*url, pids, *probes, ready)
		} else {
			acker, requester, err = dialPair(ackerURL, *url)
		}
		if err != nil {
			return nil, nil, err
		}
		go answerAcks(acker)
		if *url2 != "" || len(pids) > 0 {
			// The acker's subscription reaches the requester's node through the cluster: wait until a request
			// is answered, rather than count the first ones as failed.
			if err := awaitResponder(requester, 10*time.Second); err != nil {
				_ = acker.ws.Close()
				_ = requester.ws.Close()
				return nil, nil, err
			}
		}
		return ready, func() (map[string]any, error) {
			return runAcks(requester, acker, *inflight, *duration)
		}, nil
	}
}

// dialPair connects and registers the acker (subscribed to the topic) and the requester.
func dialPair(ackerURL, requesterURL string) (acker, requester *Conn, err error) {
	acker, err = dialRegistered(ackerURL, "acker", "acks", 16384, 10*time.Second)
	if err != nil {
		return nil, nil, fmt.Errorf("acker: %w", err)
	}
	requester, err = dialRegistered(requesterURL, "requester", "", 16384, 10*time.Second)
	if err != nil {
		_ = acker.ws.Close()
		return nil, nil, fmt.Errorf("requester: %w", err)
	}
	return acker, requester, nil
}

// placeApart connects the requester, then dials until the acker's connection is held by another of the
// server's processes; the placement (the kernel's share over the probes, the two processes) goes to ready.
func placeApart(url string, pids []int, probes int, ready map[string]any) (acker, requester *Conn, err error) {
	where := newPlacement(pids)
	if err := where.probe(url, probes, 10*time.Second); err != nil {
		return nil, nil, fmt.Errorf("probing the placement: %w", err)
	}
	ready["kernel_share"] = where.report()
	requester, requesterPid, err := where.dialAway(url, 0, 10*time.Second)
	if err == nil {
		err = requester.register("requester", "", 10*time.Second)
	}
	if err != nil {
		return nil, nil, fmt.Errorf("requester: %w", err)
	}
	acker, ackerPid, err := where.dialAway(url, requesterPid, 10*time.Second)
	if err == nil {
		err = acker.register("acker", "acks", 10*time.Second)
	}
	if err != nil {
		_ = requester.ws.Close()
		return nil, nil, fmt.Errorf("acker: %w", err)
	}
	ready["requester_pid"], ready["acker_pid"] = requesterPid, ackerPid
	ready["placement_dials"] = where.dialed - probes
	return acker, requester, nil
}

// awaitResponder sends probe requests until one is answered with success.
func awaitResponder(requester *Conn, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for i := 0; time.Now().Before(deadline); i++ {
		frame := `{"action":"publish_with_ack","topic":"acks","data":0,"ack_id":"probe` + strconv.Itoa(i) +
			`","timeout":1000,"from":"requester"}`
		reply, err := requester.request(frame, 2*time.Second)
		if err != nil {
			return fmt.Errorf("probe: %w", err)
		}
		if bytes.HasPrefix(reply, ackResponsePrefix) && bytes.Contains(reply, successTrue) {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("no node answered a probe request within %s", timeout)
}

// ackTally is what the requester's reader learns from the ack_response frames.
type ackTally struct {
	mu       sync.Mutex
	sentAt   map[int]int64
	rtts     []int64
	failed   int
	lastAt   int64
	complete atomic.Int64
}

func runAcks(requester, acker *Conn, inflight int, duration time.Duration) (map[string]any, error) {
	credits := make(chan struct{}, inflight)
	tally := &ackTally{sentAt: make(map[int]int64)}
	go tally.read(requester, credits)
	start := now()
	stop := start + int64(duration)
	issued := 0
	// A server that stops answering must not hang the benchmark.
	stuck := make(chan struct{})
	watchdog := time.AfterFunc(duration+10*time.Second, func() { close(stuck) })
	defer watchdog.Stop()
issuing:
	for now() < stop {
		select {
		case credits <- struct{}{}:
		case <-stuck:
			break issuing
		}
		tally.mu.Lock()
		tally.sentAt[issued] = now()
		tally.mu.Unlock()
		frame := `{"action":"publish_with_ack","topic":"acks","data":{"n":` + strconv.Itoa(issued) +
			`},"ack_id":"r` + strconv.Itoa(issued) + `","from":"requester"}`
		if err := requester.Send([]byte(frame)); err != nil {
			return nil, fmt.Errorf("publish_with_ack: %w", err)
		}
		issued++
	}
	// The original server answers an unanswered request after its fixed 5 s; wait a little longer.
	deadline := time.Now().Add(7 * time.Second)
	for tally.complete.Load() < int64(issued) && time.Now().Before(deadline) {
		time.Sleep(2 * time.Millisecond)
	}
	_ = requester.ws.Close()
	_ = acker.ws.Close()
	tally.mu.Lock()
	defer tally.mu.Unlock()
	done := len(tally.rtts)
	if done == 0 {
		return nil, fmt.Errorf("no ack_response arrived (%d requests)", issued)
	}
	slices.Sort(tally.rtts)
	micros := func(q float64) float64 { return float64(tally.rtts[int(q*float64(done-1))]) / 1e3 }
	elapsed := float64(tally.lastAt-start) / 1e9
	return map[string]any{
		"issued":             issued,
		"completed":          done,
		"failed":             tally.failed,
		"elapsed_s":          elapsed,
		"round_trips_per_s":  float64(done-tally.failed) / elapsed,
		"rtt_p50_us":         micros(0.5),
		"rtt_p99_us":         micros(0.99),
		"unanswered_at_stop": issued - done,
	}, nil
}

// read matches ack_response frames to their requests and gives back a window credit for each.
func (t *ackTally) read(requester *Conn, credits chan struct{}) {
	for {
		frame, err := requester.Next()
		if err != nil {
			return
		}
		if !bytes.HasPrefix(frame, ackResponsePrefix) {
			continue
		}
		arrived := now()
		n, err := strconv.Atoi(string(bytes.TrimPrefix(field(frame, "ack_id"), []byte("r"))))
		t.mu.Lock()
		if sentAt, ok := t.sentAt[n]; ok && err == nil {
			delete(t.sentAt, n)
			t.rtts = append(t.rtts, arrived-sentAt)
			if !bytes.Contains(frame, successTrue) {
				t.failed++
			}
			t.lastAt = arrived
		}
		t.mu.Unlock()
		t.complete.Add(1)
		<-credits
	}
}

// answerAcks acknowledges every publish_ack the acker receives, successfully.
func answerAcks(acker *Conn) {
	for {
		frame, err := acker.Next()
		if err != nil {
			return
		}
		if !bytes.HasPrefix(frame, publishAckPrefix) {
			continue
		}
		id := string(field(frame, "ack_id"))
		reply := `{"action":"ack","ack_id":"` + id + `","from":"acker","data":{"ack_id":"` + id +
			`","client_id":"acker","success":true}}`
		if err := acker.Send([]byte(reply)); err != nil {
			return
		}
	}
}
