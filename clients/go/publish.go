package ksps

import "time"

// Publish sends data to every subscriber of topic (spec/protocol.md §4.2), this client included
// when it is subscribed. data is encoded as JSON. While the client reconnects the publication
// waits in the offline queue. It returns an error when data cannot be encoded or the
// publication cannot be sent or queued (ErrClosed, ErrNotConnected, ErrReplaced,
// ErrOfflineQueueFull).
func (c *Client) Publish(topic string, data any) error {
	raw, err := encodeData(data)
	if err != nil {
		return err
	}
	return c.publish(envelope{Action: actionPublish, Topic: topic, Data: raw})
}

// PublishToID sends data to the client registered as targetID, whose OnID handler receives it
// (spec/protocol.md §5.1). An unknown target is silently ignored by the server. Errors are those
// of Publish.
func (c *Client) PublishToID(targetID string, data any) error {
	raw, err := encodeData(data)
	if err != nil {
		return err
	}
	return c.publish(envelope{Action: actionDirectMessage, To: targetID, Data: raw})
}

// PublishToServer asks the server to relay data to the server at addrWithPath
// ("host:port/ws/bus", spec/protocol.md §8); secure selects wss:// for the relay. If data is
// {"topic": T, "data": D}, the target server publishes D to T. Errors are those of Publish; the
// relay's own failure comes back as a *ServerErrorReply through OnError.
func (c *Client) PublishToServer(addrWithPath string, data any, secure ...bool) error {
	raw, err := encodeData(data)
	if err != nil {
		return err
	}
	isSecure := len(secure) > 0 && secure[0]
	return c.publish(envelope{
		Action: actionPublishToServer, To: addrWithPath, Data: raw,
		Status: map[string]bool{"is_secure": isSecure},
	})
}

// PublishWithAck publishes data to topic and asks every subscriber to acknowledge it
// (spec/protocol.md §6.1). The server waits up to timeout (DefaultAckTimeout when timeout <= 0)
// for the answers. The returned handle is never nil; if the request could not be sent or
// queued, its Err says why and its Wait returns at once.
func (c *Client) PublishWithAck(topic string, data any, timeout time.Duration) *Ack {
	return c.publishWithAck(envelope{Action: actionPublishWithAck, Topic: topic}, data, timeout)
}

// PublishToIDWithAck sends data to the client targetID, whose OnID handler receives it and whose
// answer comes back through the handle (spec/protocol.md §6.4). An unknown target gives an
// empty answer at once. See PublishWithAck for timeout and errors.
func (c *Client) PublishToIDWithAck(targetID string, data any, timeout time.Duration) *Ack {
	return c.publishWithAck(envelope{Action: actionPublishToIDWithAck, To: targetID}, data, timeout)
}

func (c *Client) publishWithAck(frame envelope, data any, timeout time.Duration) *Ack {
	a := newAck(c)
	raw, err := encodeData(data)
	if err != nil {
		a.finish(ackAborted, err)
		return a
	}
	frame.Data = raw
	c.mu.Lock()
	a.handle = c.newHandle()
	// Registered before the core's events run: an immediate end (a dropped request) finds it.
	c.acks[a.handle] = a
	id, out, err := c.core.publishWithAck(c.now(), &frame, timeout.Milliseconds(), a.handle)
	a.id = id
	c.run(out)
	if err != nil {
		delete(c.acks, a.handle)
		a.finish(ackAborted, err)
	}
	conn := c.conn
	c.mu.Unlock()
	if conn != nil {
		conn.waitForRoom()
	}
	return a
}

// publish hands a publication to the core: sent now, or queued while offline.
func (c *Client) publish(frame envelope) error {
	c.mu.Lock()
	out, err := c.core.publish(c.now(), &frame)
	c.run(out)
	conn := c.conn
	c.mu.Unlock()
	if conn != nil {
		conn.waitForRoom()
	}
	return err
}
