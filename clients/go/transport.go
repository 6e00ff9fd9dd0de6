package ksps

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// connection is one WebSocket connection to the server: it writes frames, reads them on its own
// goroutine, checks liveness with WebSocket PINGs, and matches application pongs to pings.
// It knows nothing of topics or acks; the client hands it a frame handler.
type connection struct {
	ws           *websocket.Conn
	tcp          net.Conn        // under ws; closing it unblocks every pending read and write at once
	ctx          context.Context // cancelled when the connection is over
	cancel       context.CancelFunc
	writeTimeout time.Duration

	// pingOrder keeps the pong waiters in the order of the pings on the wire; mu guards the
	// fields below and is never held during I/O, so the read loop never waits on a write.
	pingOrder sync.Mutex
	mu        sync.Mutex
	pongs     []chan struct{} // one per application ping in flight, oldest first
	closing   DisconnectInfo  // set when this side closes the connection on purpose
	refusals  map[string]chan *ServerErrorReply
	rids      uint64

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

// ping sends an application ping and returns a channel closed when its pong arrives. The server
// handles a connection's frames in order (spec/protocol.md §4.3), so the pong also tells that
// every frame written before the ping was processed: registration and resubscription use it as
// a barrier. token and rid, when set, are sent with it (registration, token refresh, §10-§11).
func (c *connection) ping(clientID, token, rid string) (<-chan struct{}, error) {
	pong := make(chan struct{})
	c.pingOrder.Lock()
	defer c.pingOrder.Unlock()
	c.mu.Lock()
	c.pongs = append(c.pongs, pong)
	c.mu.Unlock()
	if err := c.write(encodeFrame(&envelope{Action: actionPing, From: clientID, Token: token, RID: rid})); err != nil {
		// A failed write closes the connection: no pong will come for any ping.
		return nil, err
	}
	return pong, nil
}

// awaitPong waits for a pong returned by ping, the end of the connection, or ctx.
func (c *connection) awaitPong(ctx context.Context, pong <-chan struct{}) error {
	select {
	case <-pong:
		return nil
	case <-c.done:
		return fmt.Errorf("%w: connection lost", ErrNotConnected)
	case <-ctx.Done():
		return ctx.Err()
	}
}

// expectRefusal returns a new request ID and the channel that gets the error frame carrying it,
// if the server refuses the request (spec/protocol.md §11). Call forget(rid) once answered.
func (c *connection) expectRefusal() (string, chan *ServerErrorReply) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.rids++
	rid := strconv.FormatUint(c.rids, 10)
	if c.refusals == nil {
		c.refusals = make(map[string]chan *ServerErrorReply)
	}
	refusal := make(chan *ServerErrorReply, 1)
	c.refusals[rid] = refusal
	return rid, refusal
}

// refuse hands an error frame to the request sent with its rid; false when none waits.
func (c *connection) refuse(rid string, err *ServerErrorReply) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	refusal, ok := c.refusals[rid]
	if ok {
		delete(c.refusals, rid)
		refusal <- err
	}
	return ok
}

// forget drops the refusal channel of an answered request.
func (c *connection) forget(rid string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	delete(c.refusals, rid)
}

// awaitAnswer waits for a request's pong barrier; an error frame with the request's rid that
// arrives first (the server answers in order) is returned as the refusal.
func (c *connection) awaitAnswer(ctx context.Context, rid string, pong <-chan struct{}, refusal chan *ServerErrorReply) (*ServerErrorReply, error) {
	defer c.forget(rid)
	select {
	case err := <-refusal:
		return err, nil
	case <-pong:
		select {
		case err := <-refusal:
			return err, nil
		default:
			return nil, nil
		}
	case <-c.done:
		return nil, fmt.Errorf("%w: connection lost", ErrNotConnected)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// dropPong forgets a ping whose pong will not come (the server refused it with an error frame).
func (c *connection) dropPong(pong <-chan struct{}) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, waiting := range c.pongs {
		if (<-chan struct{})(waiting) == pong {
			c.pongs = append(c.pongs[:i], c.pongs[i+1:]...)
			return
		}
	}
}

// gotPong releases the oldest ping in flight.
func (c *connection) gotPong() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.pongs) == 0 {
		return
	}
	close(c.pongs[0])
	c.pongs = c.pongs[1:]
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
