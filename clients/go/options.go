package ksps

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// ClientOptions configures NewClient. Only Address is required; every zero value means the
// default written next to the field.
type ClientOptions struct {
	// ID is the client ID registered with the server. Default: the sub claim of Token (or of the
	// first token GetToken returns), else a random UUID v4.
	// Do not put `"` or `\` in it: the original KSPS server writes IDs unescaped.
	ID string
	// Address is the server's host:port, for example "localhost:9313". Required.
	Address string
	// Path is the WebSocket path, query string included if any. Default "/ws/bus".
	Path string
	// Secure selects wss:// instead of ws://.
	Secure bool
	// HTTPHeader is sent with every WebSocket handshake (authentication, for example).
	HTTPHeader http.Header
	// Token is a credential (JWT) sent as ping.token on every (re)connection, never in the URL
	// (spec/protocol.md §10).
	Token string
	// GetToken returns a fresh token: called on every (re)connection and shortly before the
	// current token's exp, to refresh it in place on the live connection. Takes precedence over
	// Token. With it, a refused (4003, HTTP 401) or expired (4004) token is replaced and the
	// client reconnects; without it the client closes for good with an *AuthError.
	GetToken func(ctx context.Context) (string, error)

	// Autorestart decides what happens when the FIRST connection fails: false makes NewClient
	// return ErrConnectionFailed; true makes it return the client at once, which keeps trying in
	// the background (publications are queued meanwhile, OnConnect tells when it is connected).
	Autorestart bool
	// DisableReconnect makes the loss of an established connection final. By default the client
	// reconnects with backoff until Close, as the Python and JavaScript clients do; never after
	// close code 4001 (another connection took its ID).
	DisableReconnect bool
	// ReconnectInitialDelay is the ceiling of the first reconnection delay. Default 500ms.
	ReconnectInitialDelay time.Duration
	// ReconnectMaxDelay caps the reconnection delay ceiling. Default 30s.
	ReconnectMaxDelay time.Duration
	// ReconnectFactor multiplies the ceiling after each failed attempt. Default 2.
	// Each delay is drawn uniformly between 0 and the ceiling ("full jitter").
	ReconnectFactor float64
	// RestartEvery is the original client's fixed reconnection delay. Kept for compatibility: it
	// is used as ReconnectInitialDelay when that is zero.
	RestartEvery time.Duration
	// OfflineQueueSize bounds the publications kept while disconnected and sent after the next
	// connection. Default 1024; negative disables the queue, so publishing while offline fails
	// with ErrNotConnected.
	OfflineQueueSize int
	// OfflineQueuePolicy says what a publication made while the offline queue is full does.
	// Default OverflowDropOldest (as in the Python and JavaScript clients). Every overflow is
	// also reported to OnError, with ErrOfflineQueueFull.
	OfflineQueuePolicy OverflowPolicy

	// ConnectTimeout bounds one connection attempt: the dial and WebSocket handshake, then again
	// the registration and the restoring of the subscriptions. Default 10s.
	ConnectTimeout time.Duration
	// RequestTimeout bounds the wait of Subscribe and Unsubscribe for the server's answer.
	// Default 5s.
	RequestTimeout time.Duration
	// WriteTimeout bounds the write of one frame; a connection that cannot take a frame in that
	// time is considered dead. Default 10s.
	WriteTimeout time.Duration
	// KeepaliveInterval is how long the connection may stay silent before the client sends a
	// WebSocket PING, which detects half-open connections (spec/protocol.md §1.6).
	// Default 20s; negative disables keepalive.
	KeepaliveInterval time.Duration
	// KeepaliveTimeout is how long the PONG may take before the connection is dropped.
	// Default 20s.
	KeepaliveTimeout time.Duration
	// MaxMessageSize is the largest frame the client accepts. Default 16 MiB.
	MaxMessageSize int64
	// DefaultAckTimeout is used by PublishWithAck and PublishToIDWithAck when their timeout is
	// zero or negative. Default 30s.
	DefaultAckTimeout time.Duration
	// UseNumber decodes JSON numbers in payloads as json.Number instead of float64, which keeps
	// integers above 2^53 exact.
	UseNumber bool

	// OnID receives direct messages (PublishToID) and direct messages with acknowledgement
	// (PublishToIDWithAck) sent to this client. A panic in it is reported as a failed ack.
	// Calls are made one at a time, in arrival order, never on the read goroutine.
	OnID func(msg Message)
	// OnConnect is called after every successful (re)connection, once the subscriptions are
	// restored on the server and the offline queue is flushed.
	OnConnect func()
	// OnDisconnect is called when an established connection is lost; not on the application's
	// own Close (OnClose tells that).
	OnDisconnect func(info DisconnectInfo)
	// OnError is called with asynchronous errors: error frames from the server (*ServerErrorReply),
	// offline queue overflow (ErrOfflineQueueFull), failed reconnection attempts, ErrReplaced,
	// bad frames.
	OnError func(err error)
	// OnClose is called once, when the client is closed for good: by Close, by close code 4001,
	// or by a lost connection with DisableReconnect.
	OnClose func()
	// OnJoin is called when id subscribes to a topic this client subscribed to with
	// SubscribeOptions{JoinLeave: true}; OnLeave when it leaves it (unsubscribe, disconnection,
	// rename). Calls are made in arrival order with the other hooks (spec/protocol.md §15.3).
	OnJoin  func(topic, id string)
	OnLeave func(topic, id string)
	// OnSubscribed is called when the server confirmed a subscription to a topic with history
	// (spec/protocol.md §14), on the first subscription and after every reconnection: info gives
	// the stream position and whether the client asked to recover and recovered every missed
	// publication. It runs in order with the topic's Subscribe callback: after the messages the
	// server replayed, before the live ones. A panic in it is reported to OnError as a
	// *CallbackError with Hook "OnSubscribed".
	OnSubscribed func(topic string, info SubscriptionInfo)
}

// OverflowPolicy decides which publication is lost when the offline queue is full.
type OverflowPolicy int

const (
	// OverflowDropOldest drops the oldest queued publication to make room; the call succeeds.
	// The default, as in the Python and JavaScript clients: the newest data is usually what matters.
	OverflowDropOldest OverflowPolicy = iota
	// OverflowDropNewest drops the new publication; the call succeeds.
	OverflowDropNewest
	// OverflowReject refuses the new publication: the call returns ErrOfflineQueueFull.
	OverflowReject
)

// DisconnectInfo describes the end of a connection.
type DisconnectInfo struct {
	// Code is the WebSocket close code; CloseAbnormal (1006) when no close frame was received.
	Code int
	// Reason is the close frame's reason text, if any.
	Reason string
	// Err is the error that ended the connection; nil after Close.
	Err error
	// Reconnecting tells whether the client will try to reconnect.
	Reconnecting bool
}

// The Default* constants of ClientOptions are generated from spec/vocabulary.toml (vocabulary.go).

// withDefaults validates the options and fills in every default.
func (o ClientOptions) withDefaults() (ClientOptions, error) {
	if o.Address == "" {
		return o, errors.New("ksps: ClientOptions.Address is required (host:port)")
	}
	if o.ID == "" {
		o.ID = tokenSubject(o.Token)
	}
	if o.ID == "" {
		o.ID = newUUID()
	}
	if o.Path == "" {
		o.Path = DefaultPath
	}
	if o.ReconnectInitialDelay <= 0 {
		o.ReconnectInitialDelay = orDefault(o.RestartEvery, DefaultReconnectInitialDelay)
	}
	o.ReconnectMaxDelay = orDefault(o.ReconnectMaxDelay, DefaultReconnectMaxDelay)
	if o.ReconnectMaxDelay < o.ReconnectInitialDelay {
		o.ReconnectMaxDelay = o.ReconnectInitialDelay
	}
	if o.ReconnectFactor < 1 {
		o.ReconnectFactor = DefaultReconnectFactor
	}
	if o.OfflineQueueSize == 0 {
		o.OfflineQueueSize = DefaultOfflineQueueSize
	}
	o.ConnectTimeout = orDefault(o.ConnectTimeout, DefaultConnectTimeout)
	o.RequestTimeout = orDefault(o.RequestTimeout, DefaultRequestTimeout)
	o.WriteTimeout = orDefault(o.WriteTimeout, DefaultWriteTimeout)
	if o.KeepaliveInterval == 0 {
		o.KeepaliveInterval = DefaultKeepaliveInterval
	}
	o.KeepaliveTimeout = orDefault(o.KeepaliveTimeout, DefaultKeepaliveTimeout)
	if o.MaxMessageSize <= 0 {
		o.MaxMessageSize = DefaultMaxMessageSize
	}
	o.DefaultAckTimeout = orDefault(o.DefaultAckTimeout, DefaultAckTimeout)
	return o, nil
}

// url is the WebSocket URL: scheme + "://" + Address + Path, concatenated raw so that a query
// string in Path is kept, on reconnection too.
func (o ClientOptions) url() string {
	scheme := "ws"
	if o.Secure {
		scheme = "wss"
	}
	return scheme + "://" + o.Address + o.Path
}

func orDefault(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

// newUUID returns a random UUID v4, the original Go client's default ID.
func newUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
