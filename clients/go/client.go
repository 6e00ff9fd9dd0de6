package ksps

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"sync"
	"sync/atomic"
	"syscall"
)

// Client is a connection to a ksps (or original KSPS) server. Create it with NewClient; every
// method is safe for concurrent use, and none panics because the client is disconnected.
type Client struct {
	opts    ClientOptions
	decoder payloadDecoder

	subs   *subscriptionRegistry
	acks   *ackTracker
	tokens *tokenSource
	direct serialQueue // OnID calls, in arrival order
	hooks  serialQueue // OnConnect, OnDisconnect, OnError, OnClose, OnJoin, OnLeave, in order
	// presence holds the Presence requests waiting for their reply (presence.go).
	presence presenceWaiters

	// mu orders every write made by the API against the switch between offline and online, so
	// that publications queued offline leave before newer ones (see goOnline).
	mu      sync.Mutex
	offline offlineQueue
	// stopped is why the client no longer connects (ErrNotConnected, ErrReplaced); nil while it
	// is connected or reconnecting.
	stopped error
	// wasOnline tells that a connection was established once (DisableReconnect then means that
	// nothing will be sent any more).
	wasOnline bool

	conn   atomic.Pointer[connection] // the registered connection, nil while offline
	closed atomic.Bool

	ctx       context.Context // cancelled by Close
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	overOnce  sync.Once
	over      chan struct{} // closed when the client is closed for good
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
	}
	opts, err := opts.withDefaults()
	if err != nil {
		return nil, err
	}
	c := &Client{
		opts:    opts,
		decoder: payloadDecoder{useNumber: opts.UseNumber},
		subs:    newSubscriptionRegistry(),
		acks:    newAckTracker(opts.ID),
		tokens:  &tokenSource{getToken: opts.GetToken, current: opts.Token},
		offline: offlineQueue{limit: opts.OfflineQueueSize},
		over:    make(chan struct{}),
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())

	conn, err := c.connect(ctx)
	if err != nil {
		// An *AuthError stays reachable with errors.As (and errors.Is ErrAuth).
		failed := fmt.Errorf("%w: %s: %w", ErrConnectionFailed, opts.url(), err)
		if !opts.Autorestart || (errors.Is(err, ErrAuth) && !c.tokens.refreshable()) {
			c.cancel()
			return nil, failed
		}
		c.reportError(failed)
	}
	c.wg.Add(1)
	go c.supervise(conn)
	return c, nil
}

// ID returns the client ID registered with the server.
func (c *Client) ID() string { return c.opts.ID }

// IsConnected reports whether the client is connected and registered right now.
func (c *Client) IsConnected() bool { return c.conn.Load() != nil }

// Close closes the connection with a close frame (1000), stops reconnecting, releases every
// pending Wait and drops publications still queued offline. Later publish calls return
// ErrClosed. Close is idempotent; it returns nil.
func (c *Client) Close() error {
	c.closeOnce.Do(func() {
		c.closed.Store(true)
		if conn := c.conn.Load(); conn != nil {
			conn.close(CloseNormal, "client closed")
		}
		c.cancel()
		c.wg.Wait()
		c.mu.Lock()
		c.offline.clear()
		c.mu.Unlock()
		c.acks.abortAll(ErrClosed)
		c.closedForGood()
	})
	return nil
}

// closedForGood tells OnClose and Run, once, that the client will do nothing more.
func (c *Client) closedForGood() {
	c.overOnce.Do(func() {
		close(c.over)
		if c.opts.OnClose != nil {
			c.hooks.push(c.opts.OnClose)
		}
	})
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

// send writes a frame now when connected, or queues it for the next connection otherwise.
// It returns ErrClosed, ErrNotConnected / ErrReplaced when the client no longer connects, or
// ErrOfflineQueueFull (also reported to OnError).
func (c *Client) send(item outgoing) error {
	if c.closed.Load() {
		return ErrClosed
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return ErrClosed
	}
	if c.stopped != nil {
		return c.stopped
	}
	if conn := c.conn.Load(); conn != nil {
		item.markSent(conn)
		err := conn.write(item.encode())
		if err == nil {
			return nil
		}
		item.markSent(nil)
		// The connection just broke; the supervisor will notice. A frame whose write failed was
		// not processed, so it may wait in the offline queue for the next connection.
		if c.opts.DisableReconnect {
			return fmt.Errorf("%w: %v", ErrNotConnected, err)
		}
	}
	if c.opts.DisableReconnect && c.wasOnline {
		return ErrNotConnected
	}
	return c.queueOffline(item)
}

// queueOffline keeps item for the next connection, applying the overflow policy. Caller holds
// c.mu.
func (c *Client) queueOffline(item outgoing) error {
	if c.opts.OfflineQueueSize < 0 {
		return ErrNotConnected
	}
	dropped, err := c.offline.push(item, c.opts.OfflineQueuePolicy)
	if err != nil {
		c.reportError(err)
		return err
	}
	if dropped != nil {
		c.reportError(fmt.Errorf("%w: dropped a publication to %s", ErrOfflineQueueFull, dropped.target()))
		if dropped.ack != nil {
			dropped.ack.finish(ackAborted, ErrOfflineQueueFull)
		}
	}
	return nil
}

// sendIfConnected writes a frame that is worth nothing offline (ack answers, status requests).
func (c *Client) sendIfConnected(conn *connection, e *envelope) {
	if conn == nil {
		return
	}
	_ = conn.write(encodeFrame(e))
}

// reportError calls OnError without blocking the caller.
func (c *Client) reportError(err error) {
	if c.opts.OnError != nil {
		c.hooks.push(func() { c.opts.OnError(err) })
	}
}
