package ksps

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Client is a connection to a ksps (or original KSPS) server. Create it with NewClient; every
// method is safe for concurrent use, and none panics because the client is disconnected.
//
// Client is a thin driver around the sans-I/O session core (core.go): it feeds the core with
// the clock, the connection's frames and the application's calls, and carries out what the
// core returns (dial, write, close, call the callbacks), never blocking while it holds its lock.
type Client struct {
	opts    ClientOptions
	decoder payloadDecoder
	tokens  *tokenSource
	origin  time.Time // the core's clock: milliseconds since origin

	// mu serialises every input of the core and the carrying out of its outputs.
	mu        sync.Mutex
	core      *session
	conn      *connection        // the current connection, nil while none
	dialing   context.CancelFunc // cancels the attempt in progress
	gen       uint64             // connection generation: inputs of older ones are dropped
	lastErr   error              // why the last attempt failed, for ErrConnectionFailed
	lastEnd   DisconnectInfo     // how the last connection ended, for OnDisconnect
	timer     *time.Timer        // armed at the core's next deadline
	callbacks map[string]*subscription
	calls     map[string]*pendingCall // Subscribe/Unsubscribe intents awaiting their answer, by handle
	acks      map[string]*Ack         // pending ack handles, by handle
	handles   uint64

	online  atomic.Bool
	closed  atomic.Bool
	direct  serialQueue // OnID calls, in arrival order
	hooks   serialQueue // OnConnect, OnDisconnect, OnError, OnClose, in order
	first   chan error  // the first attempt's outcome, for NewClient
	settled bool        // first was written
	over    chan struct{}

	ctx       context.Context // cancelled by Close
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// NewClient connects to the server at opts.Address and registers opts.ID.
//
// When the first connection fails it returns an error wrapping ErrConnectionFailed, unless
// opts.Autorestart is set: then it returns the client at once and keeps trying in the
// background (publications are queued meanwhile, OnConnect tells when it is connected).
// Once connected, the client reconnects after a lost connection unless opts.DisableReconnect.
func NewClient(opts ClientOptions) (*Client, error) {
	return NewClientContext(context.Background(), opts)
}

// NewClientContext is NewClient with a context bounding the first connection attempt.
func NewClientContext(ctx context.Context, opts ClientOptions) (*Client, error) {
	if opts.ID == "" && opts.Token == "" && opts.GetToken != nil {
		// Only GetToken and no ID: the ID is the first token's sub (spec §10).
		token, err := opts.GetToken(ctx)
		if err != nil {
			return nil, fmt.Errorf("%w: GetToken: %w", ErrConnectionFailed, err)
		}
		opts.ID = tokenSubject(token)
		opts.Token = token
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Client{
		opts:      opts,
		decoder:   payloadDecoder{useNumber: opts.UseNumber},
		tokens:    &tokenSource{getToken: opts.GetToken, current: opts.Token},
		origin:    time.Now(),
		callbacks: make(map[string]*subscription),
		calls:     make(map[string]*pendingCall),
		acks:      make(map[string]*Ack),
		first:     make(chan error, 1),
		over:      make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.core = newSession(opts.sessionConfig(), rand.Float64)
	c.timer = time.AfterFunc(time.Hour, func() { c.input((*session).timer) })
	c.timer.Stop()
	c.input((*session).start)
	select {
	case err = <-c.first:
	case <-ctx.Done():
		err = fmt.Errorf("%w: %s: %w", ErrConnectionFailed, opts.url(), ctx.Err())
	}
	if err != nil && !errors.Is(err, errStillTrying) {
		_ = c.Close()
		return nil, err
	}
	return c, nil
}

// errStillTrying is the first attempt's outcome when it failed and Autorestart keeps trying.
var errStillTrying = errors.New("ksps: still trying")

// sessionConfig is what the session core needs, durations in milliseconds.
func (o ClientOptions) sessionConfig() sessionConfig {
	return sessionConfig{
		id: o.ID, url: o.url(), token: o.Token,
		reconnectInitial: o.ReconnectInitialDelay.Milliseconds(),
		reconnectMax:     o.ReconnectMaxDelay.Milliseconds(),
		reconnectFactor:  o.ReconnectFactor,
		connectTimeout:   o.ConnectTimeout.Milliseconds(),
		offlineQueueSize: o.OfflineQueueSize, overflow: o.OfflineQueuePolicy,
		autorestart: o.Autorestart, reconnect: !o.DisableReconnect,
		refreshable:       o.GetToken != nil,
		defaultAckTimeout: o.DefaultAckTimeout.Milliseconds(),
	}
}

// ID returns the client ID registered with the server.
func (c *Client) ID() string { return c.opts.ID }

// IsConnected reports whether the client is connected, registered and restored right now.
func (c *Client) IsConnected() bool { return c.online.Load() }

// Close closes the connection with a close frame (1000), stops reconnecting, releases every
// pending Wait and drops publications still queued offline. Later publish calls return
// ErrClosed. Close is idempotent; it returns nil.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		c.mu.Lock()
		conn := c.conn
		c.run(c.core.close(c.now()))
		c.mu.Unlock()
		if conn != nil {
			// The close frame follows the frames still waiting for the writer; a connection that
			// takes nothing any more is dropped after closeHandshakeTimeout.
			timer := time.NewTimer(closeHandshakeTimeout)
			select {
			case <-conn.done:
			case <-timer.C:
				conn.dropTCP()
				<-conn.done
			}
			timer.Stop()
		}
		c.cancel()
		c.wg.Wait()
	})
	return nil
}

// Run blocks until the client is closed for good (see OnClose) or the process receives SIGINT
// or SIGTERM, then closes the client.
func (c *Client) Run() {
	signals := make(chan os.Signal, 1)
	signal.Notify(signals, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(signals)
	select {
	case <-signals:
	case <-c.over:
	}
	_ = c.Close()
}

// now is the core's clock.
func (c *Client) now() int64 { return time.Since(c.origin).Milliseconds() }

// input feeds the core one input and carries out its outputs.
func (c *Client) input(fn func(*session, int64) []output) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.run(fn(c.core, c.now()))
}

// run carries out the core's outputs in order, then arms the timer at its next deadline.
// Caller holds c.mu; nothing here waits on the network or on a callback.
func (c *Client) run(outs []output) {
	// The core's state is final once it returned its outputs: publish it before the events, so that
	// OnConnect sees IsConnected true and OnDisconnect sees it false (the hooks run on their own
	// goroutine and may start before this loop ends).
	c.online.Store(c.core.state == stateReady)
	for _, out := range outs {
		switch out.Type {
		case outOpen:
			c.open()
		case outSend:
			if c.conn != nil {
				c.conn.enqueue(encodeFrame(out.Frame))
			}
		case outClose:
			c.dropConnection(out.Code, out.Reason)
		case outEvent:
			c.dispatch(out.Event)
		}
	}
	if deadline, ok := c.core.nextDeadline(); ok {
		c.timer.Reset(time.Duration(max(deadline-c.now(), 0)) * time.Millisecond)
	} else {
		c.timer.Stop()
	}
}

// settle gives NewClient the first attempt's outcome, once.
func (c *Client) settle(err error) {
	if !c.settled {
		c.settled = true
		c.first <- err
	}
}

// connectionFailed is the error of a failed first connection.
func (c *Client) connectionFailed() error {
	if c.lastErr == nil {
		return fmt.Errorf("%w: %s", ErrConnectionFailed, c.opts.url())
	}
	// An *AuthError stays reachable with errors.As (and errors.Is ErrAuth).
	return fmt.Errorf("%w: %s: %w", ErrConnectionFailed, c.opts.url(), c.lastErr)
}

// reportError calls OnError without blocking the caller.
func (c *Client) reportError(err error) {
	if c.opts.OnError != nil {
		c.hooks.push(func() { c.opts.OnError(err) })
	}
}

// newHandle names a request in the core's events.
func (c *Client) newHandle() string {
	c.handles++
	return fmt.Sprintf("h%d", c.handles)
}
