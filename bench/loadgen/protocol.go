package main

import (
	"bytes"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"
)

// protocol is the wire protocol of the server under test, chosen with -protocol: the scenarios are written
// once against it, so the same fan-out, latency, idle and connection-rate runs measure every server.
type protocol interface {
	// register makes a freshly dialled connection ready (the KSPS registration ping, Centrifugo's connect
	// command), then subscribes it to topic unless topic is empty; it returns once the server has answered.
	register(c *Conn, id, topic string, timeout time.Duration) error
	// publishFrame is one publication of data (a JSON object) to topic, sent by the client registered as from.
	publishFrame(topic, data, from string) []byte
	// publications returns how many publications a received frame holds (a server may pack several into one
	// frame) and passes each to each, if not nil. It answers what the server expects an answer to on the way
	// (Centrifugo's application-level pings), so every reader of a connection must pass its frames here.
	publications(c *Conn, frame []byte, each func(publication []byte)) int
}

// protocolInfo is one -protocol value: its implementation and the subcommands it can run.
type protocolInfo struct {
	impl        protocol
	subcommands []string
}

var protocols = map[string]protocolInfo{
	"ksps":       {kspsProtocol{}, []string{"fanout", "latency", "ack", "idle", "connrate", "recover", "keep"}},
	"centrifugo": {centrifugoProtocol{}, []string{"fanout", "latency", "idle", "connrate"}},
}

// proto is the protocol of this run; main sets it from -protocol before any scenario starts.
var proto protocol = kspsProtocol{}

// chooseProtocol sets proto, or explains why the subcommand cannot run with that protocol.
func chooseProtocol(name, subcommand string) error {
	info, ok := protocols[name]
	if !ok {
		names := make([]string, 0, len(protocols))
		for known := range protocols {
			names = append(names, known)
		}
		sort.Strings(names)
		return fmt.Errorf("unknown -protocol %q (known: %s)", name, strings.Join(names, ", "))
	}
	if !slices.Contains(info.subcommands, subcommand) {
		return fmt.Errorf("-protocol %s has no %s scenario (it runs: %s)", name, subcommand,
			strings.Join(info.subcommands, ", "))
	}
	proto = info.impl
	return nil
}

// kspsProtocol is the KSPS JSON protocol (spec/protocol.md), also spoken by the original server and echoed
// by the picows ceiling: one message per frame.
type kspsProtocol struct{}

func (kspsProtocol) register(c *Conn, id, topic string, timeout time.Duration) error {
	return c.register(id, topic, timeout)
}

func (kspsProtocol) publishFrame(topic, data, from string) []byte {
	return []byte(`{"action":"publish","topic":"` + topic + `","data":` + data + `,"from":"` + from + `"}`)
}

func (kspsProtocol) publications(_ *Conn, frame []byte, each func([]byte)) int {
	if !bytes.HasPrefix(frame, publishPrefix) {
		return 0
	}
	if each != nil {
		each(frame)
	}
	return 1
}
