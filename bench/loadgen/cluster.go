package main

import (
	"encoding/json"
	"fmt"
	"strconv"
	"time"
)

// connectSubscribers connects n subscribers of "bench" to url, or, with url2, half of them (the second of
// every pair) to that second node of a cluster.
func connectSubscribers(url, url2 string, n, parallel int) ([]*Conn, error) {
	if url2 == "" {
		return connectAllOrFail(url, "sub", "bench", n, parallel, 10*time.Second)
	}
	first, err := connectAllOrFail(url, "sub", "bench", n-n/2, parallel, 10*time.Second)
	if err != nil {
		return nil, err
	}
	second, err := connectAllOrFail(url2, "sub2", "bench", n/2, parallel, 10*time.Second)
	if err != nil {
		closeAll(first)
		return nil, fmt.Errorf("second node: %w", err)
	}
	conns := make([]*Conn, 0, n)
	for i := range first {
		conns = append(conns, first[i])
		if i < len(second) {
			conns = append(conns, second[i])
		}
	}
	return conns, nil
}

// awaitMembers asks `presence` of topic on conn's node until it counts `want` members (those of every node:
// spec/protocol.md §15.5), which the node learns from the same `state` messages it routes publications by.
func awaitMembers(conn *Conn, topic string, want int, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	count := 0
	for i := 0; time.Now().Before(deadline); i++ {
		reply, err := conn.request(`{"action":"presence","topic":"`+topic+`","rid":"m`+strconv.Itoa(i)+`"}`, 5*time.Second)
		if err != nil {
			return fmt.Errorf("presence: %w", err)
		}
		var answer struct {
			Count int `json:"count"`
		}
		if err := json.Unmarshal(reply, &answer); err != nil {
			return fmt.Errorf("presence answered %s: %w", reply, err)
		}
		if count = answer.Count; count >= want {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("the first node counted %d of %d subscribers of %s after %s", count, want, topic, timeout)
}
