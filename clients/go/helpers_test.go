package ksps_test

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	ksps "github.com/ksps-dev/ksps/clients/go"
)

// unit is the one tunable time unit of the suite; every wait is a multiple of it.
// KSPS_TEST_UNIT_MS raises it on slow machines.
var unit = func() time.Duration {
	if ms, err := strconv.Atoi(os.Getenv("KSPS_TEST_UNIT_MS")); err == nil && ms > 0 {
		return time.Duration(ms) * time.Millisecond
	}
	return time.Second
}()

// waitLimit bounds every wait for something that should happen.
var waitLimit = 5 * unit

// sharedServer is the server most tests use, started by TestMain; historyServer keeps the
// history of every topic (spec/protocol.md §14), for the history tests and examples.
var sharedServer, historyServer *serverProcess

func TestMain(m *testing.M) {
	server, err := startServer(0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot start the test server:", err)
		os.Exit(1)
	}
	history, err := startServer(0, historyFlags...)
	if err != nil {
		server.stop()
		fmt.Fprintln(os.Stderr, "cannot start the test server with history:", err)
		os.Exit(1)
	}
	sharedServer, historyServer = server, history
	address, historyAddress = server.Address, history.Address // the examples' servers
	code := m.Run()
	server.stop()
	history.stop()
	os.Exit(code)
}

// historyFlags start a server that keeps the last 100 publications of every topic.
var historyFlags = []string{"--history-size", "100", "--history-ttl", "600"}

// serverProcess is a real ksps server run by `$KSPS_PYTHON -m ksps.testing`
// (spec/conformance/ADAPTER.md, last section).
type serverProcess struct {
	Address  string `json:"address"`
	Port     int    `json:"port"`
	ServerID string `json:"server_id"`
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	once     sync.Once
}

// pythonInterpreter is $KSPS_PYTHON, else the repository's virtual environment, else python3.
func pythonInterpreter() string {
	if python := os.Getenv("KSPS_PYTHON"); python != "" {
		return python
	}
	venv := filepath.Join("..", "..", ".venv", "bin", "python")
	if _, err := os.Stat(venv); err == nil {
		abs, _ := filepath.Abs(venv)
		return abs
	}
	return "python3"
}

// startServer starts a server on 127.0.0.1:port (0 = a free port) and waits for its JSON line.
func startServer(port int, extra ...string) (*serverProcess, error) {
	args := append([]string{"-m", "ksps.testing", "--port", strconv.Itoa(port)}, extra...)
	cmd := exec.Command(pythonInterpreter(), args...)
	cmd.Stderr = os.Stderr
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", cmd.Path, err)
	}
	lines := make(chan string, 1)
	go func() {
		scanner := bufio.NewScanner(stdout)
		if scanner.Scan() {
			lines <- scanner.Text()
		}
		close(lines)
		_, _ = io.Copy(io.Discard, stdout)
	}()
	server := &serverProcess{cmd: cmd, stdin: stdin}
	select {
	case line, ok := <-lines:
		if !ok {
			server.stop()
			return nil, fmt.Errorf("server exited before printing its address")
		}
		if err := json.Unmarshal([]byte(line), server); err != nil {
			server.stop()
			return nil, fmt.Errorf("unexpected server output %q: %w", line, err)
		}
		return server, nil
	case <-time.After(4 * waitLimit):
		server.stop()
		return nil, fmt.Errorf("server did not start within %v", 4*waitLimit)
	}
}

// startTestServer starts a server owned by the test.
func startTestServer(t *testing.T, port int, extra ...string) *serverProcess {
	t.Helper()
	server, err := startServer(port, extra...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(server.stop)
	return server
}

// stop ends the server gracefully (SIGTERM: close frames 1000) and waits for it.
func (s *serverProcess) stop() {
	s.once.Do(func() {
		// Both: the server stops on SIGTERM, but its process only exits once stdin is closed.
		_ = s.stdin.Close()
		_ = s.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { _ = s.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(4 * waitLimit):
			_ = s.cmd.Process.Kill()
			<-done
		}
	})
}

// kill ends the server abruptly: no close frames.
func (s *serverProcess) kill() {
	s.once.Do(func() {
		_ = s.cmd.Process.Kill()
		_ = s.cmd.Wait()
		_ = s.stdin.Close()
	})
}

// connect creates a client on the shared server (unless opts.Address is set), closed at the end.
func connect(t *testing.T, opts ksps.ClientOptions) *ksps.Client {
	t.Helper()
	if opts.Address == "" {
		opts.Address = sharedServer.Address
	}
	client, err := ksps.NewClient(opts)
	if err != nil {
		t.Fatalf("NewClient: %v", err)
	}
	t.Cleanup(func() { _ = client.Close() })
	return client
}

// receive waits for one value from ch.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitLimit):
		t.Fatalf("timed out waiting for %s", what)
		var zero T
		return zero
	}
}

// collector returns a Subscribe callback that forwards every message to a channel.
func collector() (func(ksps.Message, func()), chan ksps.Message) {
	ch := make(chan ksps.Message, 1000)
	return func(msg ksps.Message, _ func()) { ch <- msg }, ch
}

// events records the lifecycle hooks of a client as channels.
type events struct {
	connected    chan struct{}
	disconnected chan ksps.DisconnectInfo
	errors       chan error
}

func newEvents() *events {
	return &events{
		connected:    make(chan struct{}, 100),
		disconnected: make(chan ksps.DisconnectInfo, 100),
		errors:       make(chan error, 1000),
	}
}

// hook wires the recorder into opts.
func (e *events) hook(opts ksps.ClientOptions) ksps.ClientOptions {
	opts.OnConnect = func() { e.connected <- struct{}{} }
	opts.OnDisconnect = func(info ksps.DisconnectInfo) { e.disconnected <- info }
	opts.OnError = func(err error) { e.errors <- err }
	return opts
}

// awaitError waits for an OnError call with an error matching target, skipping the others
// (failed reconnection attempts, for example).
func (e *events) awaitError(t *testing.T, target error) error {
	t.Helper()
	for {
		if err := receive(t, e.errors, fmt.Sprintf("OnError(%v)", target)); errors.Is(err, target) {
			return err
		}
	}
}

// uniqueTopic gives each test its own topics on the shared server.
func uniqueTopic(t *testing.T, name string) string {
	return t.Name() + "/" + name
}

// jsonNumber is a json.Number, as UseNumber delivers numbers.
type jsonNumber = json.Number
