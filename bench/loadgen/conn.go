package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
)

// Frame prefixes every target sends (the picows ceiling echoes publications as they came in, which start the
// same way). The comma matters: `{"action":"published"` is the original server's reply to every publish.
var (
	publishPrefix     = []byte(`{"action":"publish",`)
	publishAckPrefix  = []byte(`{"action":"publish_ack",`)
	ackResponsePrefix = []byte(`{"action":"ack_response",`)
	errorPrefix       = []byte(`{"action":"error"`)
)

// Conn is one WebSocket connection that reads frames into a buffer it reuses.
type Conn struct {
	ws  *websocket.Conn
	buf []byte
	// send serialises writes: a reader may answer the server (Centrifugo's pings) while another goroutine
	// publishes on the same connection, and gorilla allows one writer at a time.
	send sync.Mutex
}

// dial opens a connection; bufSize is gorilla's read and write buffer size.
func dial(url string, bufSize int, timeout time.Duration) (*Conn, error) {
	dialer := websocket.Dialer{
		ReadBufferSize:   bufSize,
		WriteBufferSize:  bufSize,
		HandshakeTimeout: timeout,
		NetDial: func(network, addr string) (net.Conn, error) {
			return net.DialTimeout(network, addr, timeout)
		},
	}
	ws, _, err := dialer.Dial(url, nil)
	if err != nil {
		return nil, err
	}
	return &Conn{ws: ws, buf: make([]byte, 512)}, nil
}

// dialRegistered opens a connection and registers it as id, subscribed to topic unless it is empty, in the
// run's protocol; a connection whose registration fails is closed again.
func dialRegistered(url, id, topic string, bufSize int, timeout time.Duration) (*Conn, error) {
	conn, err := dial(url, bufSize, timeout)
	if err != nil {
		return nil, err
	}
	if err := proto.register(conn, id, topic, timeout); err != nil {
		conn.Close()
		return nil, err
	}
	return conn, nil
}

// Next returns the payload of the next data frame; it is valid until the next call. Control frames (the
// server's keepalive pings) are answered inside, by gorilla's default handlers.
func (c *Conn) Next() ([]byte, error) {
	_, reader, err := c.ws.NextReader()
	if err != nil {
		return nil, err
	}
	n := 0
	for {
		if n == len(c.buf) {
			c.buf = append(c.buf, make([]byte, len(c.buf))...)
		}
		read, err := reader.Read(c.buf[n:])
		n += read
		if err == io.EOF {
			return c.buf[:n], nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// Send writes one text frame; safe to call from several goroutines.
func (c *Conn) Send(frame []byte) error {
	c.send.Lock()
	defer c.send.Unlock()
	return c.ws.WriteMessage(websocket.TextMessage, frame)
}

// Close sends a close frame and closes the socket without waiting for the server's answer.
func (c *Conn) Close() {
	_ = c.ws.WriteControl(websocket.CloseMessage, websocket.FormatCloseMessage(1000, ""), time.Now().Add(time.Second))
	_ = c.ws.Close()
}

// request sends a frame and returns the first reply that is not a publication, failing on an error frame.
// The picows ceiling answers everything with {"action":"ok"}; the KSPS servers with pong, subscribed, ...
func (c *Conn) request(frame string, timeout time.Duration) ([]byte, error) {
	if err := c.Send([]byte(frame)); err != nil {
		return nil, err
	}
	_ = c.ws.SetReadDeadline(time.Now().Add(timeout))
	defer c.ws.SetReadDeadline(time.Time{})
	for {
		reply, err := c.Next()
		if err != nil {
			return nil, err
		}
		if bytes.HasPrefix(reply, errorPrefix) {
			return nil, fmt.Errorf("%s answered %s", frame, reply)
		}
		if !bytes.HasPrefix(reply, publishPrefix) {
			return reply, nil
		}
	}
}

// register sends the KSPS registration ping, then subscribes to topic unless it is empty.
func (c *Conn) register(id, topic string, timeout time.Duration) error {
	if _, err := c.request(fmt.Sprintf(`{"action":"ping","from":%q}`, id), timeout); err != nil {
		return err
	}
	if topic == "" {
		return nil
	}
	_, err := c.request(fmt.Sprintf(`{"action":"subscribe","topic":%q,"from":%q}`, topic, id), timeout)
	return err
}

// connectAll dials and registers n connections with `parallel` dialers. Connections that fail are nil in the
// result; the first error is returned along with the number of failures.
func connectAll(url, prefix, topic string, n, parallel, bufSize int, timeout time.Duration) ([]*Conn, int, error) {
	conns := make([]*Conn, n)
	var next, failed atomic.Int64
	var firstErr error
	var once sync.Once
	var wg sync.WaitGroup
	for w := 0; w < min(parallel, n); w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				conn, err := dialRegistered(url, fmt.Sprintf("%s-%d", prefix, i), topic, bufSize, timeout)
				if err != nil {
					failed.Add(1)
					once.Do(func() { firstErr = err })
					continue
				}
				conns[i] = conn
			}
		}()
	}
	wg.Wait()
	return conns, int(failed.Load()), firstErr
}

// connectAllOrFail is connectAll for scenarios that need every connection.
func connectAllOrFail(url, prefix, topic string, n, parallel int, timeout time.Duration) ([]*Conn, error) {
	conns, failed, err := connectAll(url, prefix, topic, n, parallel, 16384, timeout)
	if failed > 0 {
		closeAll(conns)
		return nil, fmt.Errorf("%d of %d connections failed, first: %w", failed, n, err)
	}
	return conns, nil
}

func closeAll(conns []*Conn) {
	for _, conn := range conns {
		if conn != nil {
			_ = conn.ws.Close()
		}
	}
}

// field returns the value of the string member `"name":"value"` in a frame, or nil.
func field(frame []byte, name string) []byte {
	key := `"` + name + `":"`
	start := bytes.Index(frame, []byte(key))
	if start < 0 {
		return nil
	}
	start += len(key)
	end := bytes.IndexByte(frame[start:], '"')
	if end < 0 {
		return nil
	}
	return frame[start : start+end]
}

// isClosed tells a connection closed on purpose from a real read error.
func isClosed(err error) bool {
	return errors.Is(err, net.ErrClosed) || websocket.IsCloseError(err, 1000, 1001, 1006) ||
		strings.Contains(err.Error(), "use of closed network connection")
}
