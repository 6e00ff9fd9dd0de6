// Command ksps-conformance-adapter lets the language-neutral conformance runner drive the Go
// client, as spec/conformance/ADAPTER.md describes: JSON commands on stdin, one per line; JSON
// replies and events on stdout, one per line. Each command maps onto one client call.
//
// Commands that return quickly (publish, subscribe, ...) run one after the other in arrival
// order, so that publications sent back to back keep their order; commands that wait (connect,
// ack waits and queries, close) run concurrently, so they never hold up the next command.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	ksps "github.com/ksps-dev/ksps/clients/go"
)

func main() {
	a := newAdapter(os.Stdout)
	a.serve(os.Stdin)
	os.Exit(0)
}

// command is one line of stdin.
type command struct {
	ID   json.RawMessage `json:"id"`
	Cmd  string          `json:"cmd"`
	Args json.RawMessage `json:"args"`
}

// handler runs a command's args and returns its result.
type handler func(args json.RawMessage) (any, error)

// adapter holds at most one client and its ack handles.
type adapter struct {
	outMu sync.Mutex
	out   io.Writer

	mu       sync.Mutex
	client   *ksps.Client
	handles  map[string]*ksps.Ack
	onIDMode string
	onIDErr  string

	inflight sync.WaitGroup
	quick    map[string]handler
	blocking map[string]handler
}

func newAdapter(out io.Writer) *adapter {
	a := &adapter{out: out, handles: make(map[string]*ksps.Ack), onIDMode: "ok"}
	a.quick = map[string]handler{
		"subscribe":              a.subscribe,
		"subscribe_join_leave":   a.subscribeJoinLeave,
		"unsubscribe":            a.unsubscribe,
		"publish":                a.publish,
		"publish_to_id":          a.publishToID,
		"publish_to_server":      a.publishToServer,
		"publish_with_ack":       a.publishWithAck,
		"publish_to_id_with_ack": a.publishToIDWithAck,
		"ack_cancel":             a.ackCancel,
		"set_on_id":              a.setOnID,
		"position":               a.position,
	}
	a.blocking = map[string]handler{
		"connect":          a.connect,
		"presence":         a.presence,
		"history":          a.history,
		"ack_wait":         a.ackWait,
		"ack_wait_any":     a.ackWaitAny,
		"ack_status":       a.ackStatus,
		"ack_is_complete":  a.ackIsComplete,
		"ack_fetch_status": a.ackFetchStatus,
		"vocabulary":       a.vocabulary,
		"close":            a.close,
	}
	return a
}

// serve reads commands until EOF, then lets running commands finish briefly and closes the client.
func (a *adapter) serve(in io.Reader) {
	reader := bufio.NewReaderSize(in, 1<<20)
	for {
		line, err := reader.ReadBytes('\n')
		if len(bytes.TrimSpace(line)) > 0 {
			a.dispatch(line)
		}
		if err != nil {
			break
		}
	}
	finished := make(chan struct{})
	go func() { a.inflight.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-time.After(500 * time.Millisecond):
	}
	if client := a.currentClient(); client != nil {
		_ = client.Close()
	}
}

func (a *adapter) dispatch(line []byte) {
	var cmd command
	if err := json.Unmarshal(line, &cmd); err != nil {
		fmt.Fprintf(os.Stderr, "bad command line %q: %v\n", line, err)
		return
	}
	if h, ok := a.quick[cmd.Cmd]; ok {
		a.run(cmd, h)
		return
	}
	if h, ok := a.blocking[cmd.Cmd]; ok {
		a.inflight.Add(1)
		go func() {
			defer a.inflight.Done()
			a.run(cmd, h)
		}()
		return
	}
	a.emit(map[string]any{"id": cmd.ID, "ok": false, "error": fmt.Sprintf("unknown command %q", cmd.Cmd)})
}

func (a *adapter) run(cmd command, h handler) {
	if len(cmd.Args) == 0 {
		cmd.Args = json.RawMessage("{}")
	}
	result, err := h(cmd.Args)
	if err != nil {
		a.emit(withErrorFields(map[string]any{"id": cmd.ID, "ok": false, "error": err.Error()}, err))
		return
	}
	a.emit(map[string]any{"id": cmd.ID, "ok": true, "result": result})
}

// emit writes one JSON line; the runner reads stdout line by line.
func (a *adapter) emit(obj map[string]any) {
	line, err := json.Marshal(obj)
	if err != nil {
		line, _ = json.Marshal(map[string]any{"event": "error", "message": "adapter cannot encode: " + err.Error()})
	}
	a.outMu.Lock()
	defer a.outMu.Unlock()
	_, _ = a.out.Write(append(line, '\n'))
}

func (a *adapter) currentClient() *ksps.Client {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.client
}

func (a *adapter) needClient() (*ksps.Client, error) {
	if client := a.currentClient(); client != nil {
		return client, nil
	}
	return nil, errors.New("no client: send connect first")
}

func (a *adapter) handle(name string) (*ksps.Ack, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ack, ok := a.handles[name]; ok {
		return ack, nil
	}
	return nil, fmt.Errorf("unknown handle %q", name)
}

// keep stores an ack handle under a new name.
func (a *adapter) keep(ack *ksps.Ack) map[string]any {
	a.mu.Lock()
	defer a.mu.Unlock()
	name := fmt.Sprintf("h%d", len(a.handles)+1)
	a.handles[name] = ack
	return map[string]any{"handle": name}
}

func millis(ms float64) time.Duration { return time.Duration(ms * float64(time.Millisecond)) }
