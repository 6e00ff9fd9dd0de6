package ksps

import (
	"context"
	"errors"
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
	atOnce := false
	for {
		if conn != nil {
			info := c.runConnection(conn)
			if stop := c.stopReason(info); stop != nil {
				c.stop(stop)
				return
			}
			if refused := authRefusal(info); refused != nil {
				c.reportError(refused) // GetToken gives the next attempt a new token
			}
			// An expired token is replaced at once: only the credential ran out (spec §10).
			atOnce = info.Code == CloseTokenExpired
		}
		var stop error
		conn, stop = c.reconnect(policy, atOnce)
		if stop != nil {
			c.stop(stop)
			return
		}
		if conn == nil {
			return
		}
	}
}

// reconnect tries until a connection is registered; nil means the client was closed. A refused
// token without GetToken stops the attempts: the same token would be refused again.
func (c *Client) reconnect(policy backoff, atOnce bool) (*connection, error) {
	for attempt := 0; ; attempt++ {
		delay := policy.delay(attempt)
		if atOnce && attempt == 0 {
			delay = 0
		}
		timer := time.NewTimer(delay)
		select {
		case <-c.ctx.Done():
			timer.Stop()
			return nil, nil
		case <-timer.C:
		}
		conn, err := c.connect(c.ctx)
		if err == nil {
			return conn, nil
		}
		if c.closed.Load() {
			return nil, nil
		}
		if errors.Is(err, ErrAuth) && !c.tokens.refreshable() {
			return nil, err
		}
		c.reportError(fmt.Errorf("ksps: reconnection attempt %d to %s failed: %w", attempt+1, c.opts.url(), err))
	}
}

// authRefusal is the *AuthError of a connection closed with 4003 or 4004, else nil.
func authRefusal(info DisconnectInfo) *AuthError {
	if info.Code == CloseUnauthorized || info.Code == CloseTokenExpired {
		return &AuthError{Code: info.Code, Reason: info.Reason}
	}
	return nil
}

// runConnection serves an online connection until it ends, then takes the client offline and
// reports the disconnection.
func (c *Client) runConnection(conn *connection) DisconnectInfo {
	c.hooks.push(c.onConnect)
	c.wg.Add(1)
	go c.refreshTokens(conn)
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
	case authRefusal(info) != nil && !c.tokens.refreshable():
		// Without GetToken the same token would be refused again (spec §7.2, §10).
		return authRefusal(info)
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
	if reason == ErrReplaced || errors.Is(reason, ErrAuth) {
		c.reportError(reason)
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
	token, err := c.tokens.fetch(ctx)
	if err != nil {
		return nil, err
	}
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
	if err := c.register(ctx, conn, token); err != nil {
		conn.abort(DisconnectInfo{Code: CloseAbnormal, Reason: "registration failed", Err: err})
		<-conn.done
		if refused := authRefusal(conn.ended); refused != nil {
			return nil, refused
		}
		return nil, err
	}
	return conn, nil
}

// refreshTokens refreshes the token of conn in place shortly before it expires (spec §10): a
// ping with the same ID and the token from GetToken. It ends with the connection, or when
// GetToken gives no newer token: the server then closes with 4004 at exp, and the reconnection
// asks GetToken again.
func (c *Client) refreshTokens(conn *connection) {
	defer c.wg.Done()
	for {
		delay, ok := c.tokens.refreshIn()
		if !ok {
			return
		}
		timer := time.NewTimer(delay)
		select {
		case <-conn.done:
			timer.Stop()
			return
		case <-timer.C:
		}
		if !c.refreshOnce(conn) {
			return
		}
	}
}

// refreshOnce sends one in-place refresh; false when there is nothing more to do on conn.
func (c *Client) refreshOnce(conn *connection) bool {
	before, _ := tokenExpiry(c.tokens.token())
	token, err := c.tokens.fetch(conn.ctx)
	if err != nil {
		c.reportError(err)
		return false
	}
	if after, ok := tokenExpiry(token); !ok || !after.After(before) {
		return false
	}
	rid, refusal := conn.expectRefusal()
	pong, err := conn.ping(c.opts.ID, token, rid)
	if err != nil {
		conn.forget(rid)
		return false
	}
	ctx, cancel := context.WithTimeout(conn.ctx, c.opts.RequestTimeout)
	defer cancel()
	refused, err := conn.awaitAnswer(ctx, rid, pong, refusal)
	if refused != nil {
		conn.dropPong(pong)
		c.reportError(&AuthError{Code: CloseUnauthorized, Reason: "refreshed token refused: " + refused.Text})
		return false
	}
	return err == nil
}
