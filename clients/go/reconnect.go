package ksps

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// backoff computes reconnection delays with "full jitter": the delay before attempt n is drawn
// uniformly in [0, min(max, initial*factor^n)). Spreading the delays keeps many clients of a
// restarted server from reconnecting in one burst.
type backoff struct {
	initial time.Duration
	max     time.Duration
	factor  float64
	random  func() float64 // uniform in [0, 1)
}

func newBackoff(opts ClientOptions) backoff {
	return backoff{
		initial: opts.ReconnectInitialDelay,
		max:     opts.ReconnectMaxDelay,
		factor:  opts.ReconnectFactor,
		random:  rand.Float64,
	}
}

// ceiling is the upper bound of the delay before attempt n (0-based).
func (b backoff) ceiling(attempt int) time.Duration {
	ceiling := float64(b.initial) * math.Pow(b.factor, float64(attempt))
	if ceiling > float64(b.max) || math.IsInf(ceiling, 0) || math.IsNaN(ceiling) {
		return b.max
	}
	return time.Duration(ceiling)
}

// delay is the wait before attempt n.
func (b backoff) delay(attempt int) time.Duration {
	return time.Duration(b.random() * float64(b.ceiling(attempt)))
}

// supervise owns the client's connection for its whole life: it runs the current connection
// until it ends, then reconnects with backoff when the options and the close code allow it.
// first is the connection NewClient established, or nil when that attempt failed.
func (c *Client) supervise(first *connection) {
	defer c.wg.Done()
	policy := newBackoff(c.opts)
	conn := first
	for {
		if conn != nil {
			info := c.runConnection(conn)
			if stop := c.stopReason(info); stop != nil {
				c.stop(stop)
				return
			}
		}
		conn = c.reconnect(policy)
		if conn == nil {
			return
		}
	}
}

// reconnect tries until a connection is registered; nil means the client was closed.
func (c *Client) reconnect(policy backoff) *connection {
	for attempt := 0; ; attempt++ {
		timer := time.NewTimer(policy.delay(attempt))
		select {
		case <-c.ctx.Done():
			timer.Stop()
			return nil
		case <-timer.C:
		}
		conn, err := c.connect(c.ctx)
		if err == nil {
			return conn
		}
		if c.closed.Load() {
			return nil
		}
		c.reportError(fmt.Errorf("ksps: reconnection attempt %d to %s failed: %w", attempt+1, c.opts.url(), err))
	}
}

// runConnection serves an online connection until it ends, then takes the client offline and
// reports the disconnection.
func (c *Client) runConnection(conn *connection) DisconnectInfo {
	c.hooks.push(c.onConnect)
	<-conn.done
	c.mu.Lock()
	c.conn.CompareAndSwap(conn, nil)
	c.mu.Unlock()
	c.acks.connectionLost(conn)
	info := conn.ended
	info.Reconnecting = c.stopReason(info) == nil
	if c.opts.OnDisconnect != nil {
		c.hooks.push(func() { c.opts.OnDisconnect(info) })
	}
	return info
}

// stopReason returns why the client must not reconnect after info, or nil.
func (c *Client) stopReason(info DisconnectInfo) error {
	switch {
	case c.closed.Load():
		return ErrClosed
	case info.Code == CloseReplaced:
		// Two clients with one ID would take it from each other forever (spec §3.3, §9.11).
		return ErrReplaced
	case c.opts.DisableReconnect:
		return ErrNotConnected
	}
	return nil
}

// stop makes the loss of the connection final: later calls fail with reason, pending requests
// end now since no answer can come any more, and OnClose is called.
func (c *Client) stop(reason error) {
	if reason == ErrClosed {
		return // Close does its own cleanup.
	}
	c.mu.Lock()
	c.stopped = reason
	c.offline.clear()
	c.mu.Unlock()
	c.acks.abortAll(reason)
	if reason == ErrReplaced {
		c.reportError(ErrReplaced)
	}
	c.closedForGood()
}

func (c *Client) onConnect() {
	if c.opts.OnConnect != nil {
		c.opts.OnConnect()
	}
}

// connect dials the server and registers the client on the new connection (see register).
func (c *Client) connect(ctx context.Context) (*connection, error) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.ConnectTimeout)
	defer cancel()
	conn, err := dial(ctx, c.ctx, transportConfig{
		url:            c.opts.url(),
		header:         c.opts.HTTPHeader,
		writeTimeout:   c.opts.WriteTimeout,
		maxMessageSize: c.opts.MaxMessageSize,
	})
	if err != nil {
		return nil, err
	}
	c.wg.Add(2)
	go func() {
		defer c.wg.Done()
		conn.readLoop(c.handleFrame)
	}()
	go func() {
		defer c.wg.Done()
		conn.keepAlive(c.opts.KeepaliveInterval, c.opts.KeepaliveTimeout)
	}()
	if err := c.register(ctx, conn); err != nil {
		conn.abort(DisconnectInfo{Code: CloseAbnormal, Reason: "registration failed", Err: err})
		<-conn.done
		return nil, err
	}
	return conn, nil
}
