package ksps

import (
	"context"
	"time"
)

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
	return c.send(outgoing{frame: envelope{Action: actionPublish, Topic: topic, Data: raw, From: c.opts.ID}})
}

// PublishToID sends data to the client registered as targetID, whose OnID handler receives it
// (spec/protocol.md §5.1). An unknown target is silently ignored by the server. Errors are those
// of Publish.
func (c *Client) PublishToID(targetID string, data any) error {
	raw, err := encodeData(data)
	if err != nil {
		return err
	}
	return c.send(outgoing{frame: envelope{Action: actionDirectMessage, To: targetID, Data: raw, From: c.opts.ID}})
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
	return c.send(outgoing{frame: envelope{
		Action: actionPublishToServer, To: addrWithPath, Data: raw, From: c.opts.ID,
		Status: map[string]bool{"is_secure": isSecure},
	}})
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
	if timeout <= 0 {
		timeout = c.opts.DefaultAckTimeout
	}
	a := newAck(c, c.acks.nextID(), timeout)
	raw, err := encodeData(data)
	if err != nil {
		a.finish(ackAborted, err)
		return a
	}
	frame.Data, frame.AckID, frame.From = raw, a.id, c.opts.ID
	// Always ask for per-response progress (spec §6.3): it is what lets WaitAny return the
	// first answer to arrive.
	frame.Progress = true
	// Registered before sending, so that an immediate answer finds its request.
	c.acks.add(a)
	a.startTimer()
	if err := c.send(outgoing{frame: frame, ack: a}); err != nil {
		a.finish(ackAborted, err)
	}
	return a
}

// cancelAck withdraws a cancelled or expired request: from the offline queue if it is still
// there, otherwise from the server (cancel_ack, spec/protocol.md §6.5).
func (c *Client) cancelAck(a *Ack) {
	c.mu.Lock()
	withdrawn := c.offline.withdraw(a)
	c.mu.Unlock()
	if withdrawn {
		return
	}
	c.sendIfConnected(c.conn.Load(), &envelope{Action: actionCancelAck, AckID: a.id, From: c.opts.ID})
}

// ackStatus asks the server for a request's status (get_ack_status with the client's ack ID,
// spec/protocol.md §6.5). fromServer is false when the answer is the local knowledge: the
// request is over, the client is offline, or the server no longer knows the request.
func (c *Client) ackStatus(ctx context.Context, a *Ack) (status map[string]bool, fromServer bool, err error) {
	conn := c.conn.Load()
	if conn == nil {
		return a.localStatus(), false, nil
	}
	reply, pending := a.awaitStatus(conn)
	if !pending {
		return a.localStatus(), false, nil
	}
	frame := &envelope{Action: actionGetAckStatus, AckID: a.id, From: c.opts.ID}
	if err := conn.write(encodeFrame(frame)); err != nil {
		return a.localStatus(), false, nil
	}
	select {
	case status, ok := <-reply:
		if !ok || len(status) == 0 {
			// Empty: the request is finished or unknown on the server (§6.5).
			return a.localStatus(), false, nil
		}
		return status, true, nil
	case <-conn.done:
		return a.localStatus(), false, nil
	case <-ctx.Done():
		return a.localStatus(), false, ctx.Err()
	}
}
