package ksps

import (
	"context"
	"errors"
	"time"
)

// The connection side of the driver: the core decides when to connect and when to give up
// (core.go); these functions dial, feed the connection's frames and end to the core, and
// refresh the token in place.

// open starts an attempt the core asked for: GetToken, dial, then the opened input. Caller
// holds c.mu.
func (c *Client) open() {
	c.gen++
	gen := c.gen
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.ConnectTimeout)
	c.dialing = cancel
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		defer cancel()
		c.attempt(ctx, gen)
	}()
}

func (c *Client) attempt(ctx context.Context, gen uint64) {
	token, err := c.tokens.fetch(ctx)
	if err != nil {
		c.attemptFailed(gen, err, 0)
		return
	}
	conn, err := dial(ctx, c.ctx, transportConfig{
		url:            c.opts.url(),
		header:         c.opts.HTTPHeader,
		writeTimeout:   c.opts.WriteTimeout,
		maxMessageSize: c.opts.MaxMessageSize,
	})
	if err != nil {
		code := 0 // no close frame
		var refused *AuthError
		if errors.As(err, &refused) {
			code = httpUnauthorized // a refused token at the upgrade (spec §10)
		}
		c.attemptFailed(gen, err, code)
		return
	}
	c.mu.Lock()
	if gen != c.gen {
		c.mu.Unlock()
		conn.abort(DisconnectInfo{Code: CloseNormal, Reason: "attempt abandoned"})
		return
	}
	c.conn = conn
	c.dialing = nil
	c.wg.Add(4)
	go func() {
		defer c.wg.Done()
		conn.readLoop(func(_ *connection, frame []byte) { c.received(gen, frame) })
		c.ended(gen, conn)
	}()
	go func() {
		defer c.wg.Done()
		conn.writeLoop()
	}()
	go func() {
		defer c.wg.Done()
		conn.keepAlive(c.opts.KeepaliveInterval, c.opts.KeepaliveTimeout)
	}()
	go func() {
		defer c.wg.Done()
		c.refreshTokens(gen, conn)
	}()
	c.core.setToken(token)
	c.run(c.core.opened(c.now()))
	c.mu.Unlock()
}

// attemptFailed tells the core that an attempt failed before the connection was open.
func (c *Client) attemptFailed(gen uint64, err error, code int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen || c.closed.Load() {
		return
	}
	c.lastErr = err
	c.dialing = nil
	c.run(c.core.lost(c.now(), code, err.Error()))
}

// received feeds one frame of connection gen to the core.
func (c *Client) received(gen uint64, frame []byte) {
	frames, err := decodeFrames(frame)
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	if err != nil {
		c.reportError(err)
		return
	}
	for i := range frames {
		c.run(c.core.frame(c.now(), &frames[i]))
	}
}

// ended tells the core that connection gen is over.
func (c *Client) ended(gen uint64, conn *connection) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if gen != c.gen {
		return
	}
	c.conn = nil
	c.lastEnd = conn.ended
	if c.core.state != stateReady {
		// The attempt failed during the registration.
		c.lastErr = conn.ended.Err
		if refused := authRefusal(conn.ended); refused != nil {
			c.lastErr = refused
		}
	}
	c.run(c.core.lost(c.now(), conn.ended.Code, conn.ended.Reason))
}

// dropConnection carries out the core's close output: the current connection, or the attempt
// in progress, is abandoned. Caller holds c.mu.
func (c *Client) dropConnection(code int, reason string) {
	c.gen++
	if c.dialing != nil {
		c.dialing()
		c.dialing = nil
	}
	if c.conn != nil {
		c.conn.enqueueClose(code, reason)
		c.conn = nil
	}
}

// authRefusal is the *AuthError of a connection closed with 4003 or 4004, else nil.
func authRefusal(info DisconnectInfo) *AuthError {
	if info.Code == CloseUnauthorized || info.Code == CloseTokenExpired {
		return &AuthError{Code: info.Code, Reason: info.Reason}
	}
	return nil
}

// refreshTokens refreshes the token of connection gen in place shortly before it expires (spec
// §10). It ends with the connection, or when GetToken gives no newer token: the server then
// closes with 4004 at exp, and the reconnection asks GetToken again.
func (c *Client) refreshTokens(gen uint64, conn *connection) {
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
		before, _ := tokenExpiry(c.tokens.token())
		token, err := c.tokens.fetch(conn.ctx)
		if err != nil {
			c.reportError(err)
			return
		}
		if after, ok := tokenExpiry(token); !ok || !after.After(before) {
			return
		}
		c.mu.Lock()
		if gen != c.gen {
			c.mu.Unlock()
			return
		}
		c.run(c.core.refreshToken(c.now(), token))
		c.mu.Unlock()
	}
}
