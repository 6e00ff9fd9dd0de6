package ksps

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// connection is one WebSocket connection to the server: it writes frames in order on a goroutine
// of its own, reads them on another, and checks liveness with WebSocket PINGs. It knows nothing
// of the protocol; the client hands it a frame handler.
type connection struct {
	ws           *websocket.Conn
	tcp          net.Conn        // under ws; closing it unblocks every pending read and write at once
	ctx          context.Context // cancelled when the connection is over
	cancel       context.CancelFunc
	writeTimeout time.Duration

	mu      sync.Mutex
	closing DisconnectInfo // set when this side closes the connection on purpose

	outMu    sync.Mutex
	outbox   [][]byte        // frames waiting for writeLoop
	closeReq *DisconnectInfo // a close to make once outbox is written
	wake     chan struct{}
	taken    chan struct{} // closed (and replaced) each time writeLoop takes the outbox

	lastRead atomic.Int64 // UnixNano of the last frame received, for keepalive

	closeOnce sync.Once
	ended     DisconnectInfo // how the connection ended, valid once done is closed
	done      chan struct{}
}

// transportConfig is what dial needs from ClientOptions.
type transportConfig struct {
	url            string
	header         http.Header
	writeTimeout   time.Duration
	maxMessageSize int64
}

// dial opens a WebSocket connection. parent bounds the connection's whole life; ctx bounds the
// handshake only.
func dial(ctx, parent context.Context, cfg transportConfig) (*connection, error) {
	var (
		dialer net.Dialer
		tcpMu  sync.Mutex // the transport dials on a goroutine of its own
		tcp    net.Conn
	)
	// A transport of our own lets us keep the TCP connection, to drop it when a close
	// handshake hangs (see close).
	transport := &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := dialer.DialContext(ctx, network, addr)
			tcpMu.Lock()
			tcp = conn
			tcpMu.Unlock()
			return conn, err
		},
	}
	ws, resp, err := websocket.Dial(ctx, cfg.url, &websocket.DialOptions{
		HTTPHeader: cfg.header,
		HTTPClient: &http.Client{Transport: transport},
	})
	transport.CloseIdleConnections()
	if err != nil {
		if resp != nil && resp.StatusCode == http.StatusUnauthorized {
			// A bad token at the upgrade (spec/protocol.md §10).
			return nil, &AuthError{Code: http.StatusUnauthorized, Reason: err.Error()}
		}
		return nil, err
	}
	ws.SetReadLimit(cfg.maxMessageSize)
	connCtx, cancel := context.WithCancel(parent)
	tcpMu.Lock()
	defer tcpMu.Unlock()
	return &connection{
		ws:           ws,
		tcp:          tcp,
		ctx:          connCtx,
		cancel:       cancel,
		writeTimeout: cfg.writeTimeout,
		wake:         make(chan struct{}, 1),
		taken:        make(chan struct{}),
		done:         make(chan struct{}),
	}, nil
}

// write sends one text frame (spec/protocol.md §1.3). A write that times out closes the
// connection, since a peer that takes no data is as good as gone.
func (c *connection) write(frame []byte) error {
	ctx, cancel := context.WithTimeout(c.ctx, c.writeTimeout)
	defer cancel()
	return c.ws.Write(ctx, websocket.MessageText, frame)
}

// enqueue schedules frame for writing, after every frame enqueued before it, without waiting:
// the session core's outputs are carried out under the client's lock, which must never wait on
// the network. The writer goroutine (writeLoop) writes them in order.
func (c *connection) enqueue(frame []byte) {
	c.outMu.Lock()
	c.outbox = append(c.outbox, frame)
	c.outMu.Unlock()
	c.wakeWriter()
}

// maxBacklog is how many frames may wait for the writer before publishers wait (waitForRoom).
const maxBacklog = 1024

// waitForRoom blocks while more than maxBacklog frames wait for the writer, until the connection
// ends: publishing faster than the network takes frames slows the publisher down instead of
// growing memory. Called without the client's lock.
func (c *connection) waitForRoom() {
	for {
		c.outMu.Lock()
		backlog, taken := len(c.outbox), c.taken
		c.outMu.Unlock()
		if backlog <= maxBacklog {
			return
		}
		select {
		case <-taken:
		case <-c.done:
			return
		}
	}
}

// enqueueClose closes the connection with a close frame once the frames enqueued before are
// written.
func (c *connection) enqueueClose(code int, reason string) {
	c.outMu.Lock()
	if c.closeReq == nil {
		c.closeReq = &DisconnectInfo{Code: code, Reason: reason}
	}
	c.outMu.Unlock()
	c.wakeWriter()
}

func (c *connection) wakeWriter() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// writeLoop writes the enqueued frames in order until the connection ends or a close is
// requested. A failed write drops the connection: the read loop then reports its end.
func (c *connection) writeLoop() {
	for {
		select {
		case <-c.wake:
		case <-c.done:
			return
		}
		c.outMu.Lock()
		batch, closeReq := c.outbox, c.closeReq
		c.outbox = nil
		close(c.taken)
		c.taken = make(chan struct{})
		c.outMu.Unlock()
		for _, frame := range batch {
			if err := c.write(frame); err != nil {
				c.abort(DisconnectInfo{Code: CloseAbnormal, Reason: "write failed", Err: err})
				return
			}
		}
		if closeReq != nil {
			c.close(closeReq.Code, closeReq.Reason)
			return
		}
	}
}

// readLoop hands every received frame to handle until the connection fails, then records how
// it ended and closes done. handle must not block.
func (c *connection) readLoop(handle func(*connection, []byte)) {
	defer close(c.done)
	defer c.cancel()
	for {
		_, frame, err := c.ws.Read(c.ctx)
		if err != nil {
			c.ended = c.describeEnd(err)
			_ = c.ws.CloseNow()
			return
		}
		c.lastRead.Store(time.Now().UnixNano())
		handle(c, frame)
	}
}

// describeEnd turns the read error into a DisconnectInfo; a close this side asked for wins.
func (c *connection) describeEnd(err error) DisconnectInfo {
	c.mu.Lock()
	closing := c.closing
	c.mu.Unlock()
	if closing.Code != 0 {
		return closing
	}
	var closeErr websocket.CloseError
	if errors.As(err, &closeErr) {
		return DisconnectInfo{Code: int(closeErr.Code), Reason: closeErr.Reason, Err: err}
	}
	return DisconnectInfo{Code: CloseAbnormal, Err: err}
}

// keepAlive sends a WebSocket PING when nothing was received for interval and drops the
// connection when the PONG does not come back within timeout, which detects half-open TCP
// connections (spec/protocol.md §1.6). A busy connection costs no PINGs.
func (c *connection) keepAlive(interval, timeout time.Duration) {
	if interval <= 0 {
		return
	}
	c.lastRead.Store(time.Now().UnixNano())
	timer := time.NewTimer(interval)
	defer timer.Stop()
	for {
		select {
		case <-c.done:
			return
		case <-timer.C:
		}
		if idle := time.Since(time.Unix(0, c.lastRead.Load())); idle < interval {
			timer.Reset(interval - idle)
			continue
		}
		ctx, cancel := context.WithTimeout(c.ctx, timeout)
		err := c.ws.Ping(ctx)
		cancel()
		if err != nil {
			c.abort(DisconnectInfo{Code: CloseAbnormal, Reason: "keepalive timeout",
				Err: fmt.Errorf("ksps: no pong within %v: %w", timeout, err)})
			return
		}
		timer.Reset(interval)
	}
}

// closeHandshakeTimeout bounds the wait for the server's answer to our close frame.
const closeHandshakeTimeout = 2 * time.Second

// close ends the connection with a close frame and waits for the read loop to finish.
func (c *connection) close(code int, reason string) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closing = DisconnectInfo{Code: code, Reason: reason}
		c.mu.Unlock()
		// A silent server would stretch the close handshake to 10 s: drop the TCP connection.
		force := time.AfterFunc(closeHandshakeTimeout, c.dropTCP)
		defer force.Stop()
		_ = c.ws.Close(websocket.StatusCode(code), reason)
	})
	c.cancel()
	<-c.done
}

// abort drops the connection at once, without a close handshake, recording why.
func (c *connection) abort(info DisconnectInfo) {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closing = info
		c.mu.Unlock()
	})
	c.dropTCP()
	_ = c.ws.CloseNow()
}

// dropTCP closes the TCP connection under the WebSocket, which fails every pending read and
// write at once, and ends the connection's context.
func (c *connection) dropTCP() {
	if c.tcp != nil {
		_ = c.tcp.Close()
	}
	c.cancel()
}
