package ksps

import (
	"errors"
	"fmt"
	"math"
	"strconv"
)

// session is the client's sans-I/O core: a state machine that owns registration,
// resubscription, the offline queue, the state of ack requests and the reconnection decisions.
// It does no I/O, starts no goroutine and never reads the clock: every input comes with the
// time (milliseconds from an arbitrary origin), randomness and generated IDs come from injected
// functions, and every input returns the outputs the driver must carry out, in order (open a
// connection, send a frame, close, emit an event), plus the next deadline (nextDeadline).
//
// The same inputs and outputs are recorded as trace vectors in spec/traces/*.json, which the
// Python, JavaScript and Go clients all replay (trace_test.go), so that the clients cannot
// diverge silently. The driver (Client) is not safe to call concurrently into a session: it
// holds its own lock around every input.
type session struct {
	cfg      sessionConfig
	random   func() float64 // uniform in [0, 1): backoff jitter
	newRID   func() string  // request IDs (spec §11)
	newAckID func() string  // client ack IDs (spec §6.1)

	state    sessionState
	deadline int64 // connect or backoff deadline; noDeadline when none
	attempt  int   // failed attempts since the last successful connection
	token    string
	// connected tells that a connection was established once (DisableReconnect, Autorestart).
	connected bool
	// stopped is why the session will not connect any more (nil while it may).
	stopped error

	topics    map[string]bool           // the subscription registry, restored on every connection
	requests  map[string]pendingRequest // by rid: requests whose answer is awaited on this link
	restoring int                       // resubscriptions still unanswered
	offline   []queuedFrame
	acks      map[string]*ackEntry // pending ack requests by client ack ID
	ackOrder  []string             // ack IDs in creation order, for deterministic expiry
}

// sessionConfig is what the session needs from ClientOptions, durations in milliseconds.
type sessionConfig struct {
	id                string
	url               string
	reconnectInitial  int64
	reconnectMax      int64
	reconnectFactor   float64
	connectTimeout    int64
	offlineQueueSize  int // negative: no offline queue
	overflow          OverflowPolicy
	autorestart       bool
	disableReconnect  bool
	refreshable       bool  // GetToken can supply a new token after an auth refusal
	ackGrace          int64 // how long after its timeout an ack request gives up locally
	defaultAckTimeout int64
}

type sessionState int

const (
	stateIdle        sessionState = iota
	stateConnecting               // open was output, waiting for opened
	stateRegistering              // ping sent, waiting for its pong (spec §3.1)
	stateRestoring                // subscribe sent for every topic, waiting for the answers
	stateConnected                // registered, restored, offline queue flushed
	stateWaiting                  // waiting for the backoff deadline before the next attempt
	stateClosed                   // for good
)

const noDeadline = int64(math.MaxInt64)

// counterIDs returns a generator of decimal IDs "1", "2", ..., the traces' ID scheme.
func counterIDs(prefix string) func() string {
	n := uint64(0)
	return func() string {
		n++
		return prefix + strconv.FormatUint(n, 10)
	}
}

func newSession(cfg sessionConfig, random func() float64, newRID, newAckID func() string) *session {
	return &session{
		cfg: cfg, random: random, newRID: newRID, newAckID: newAckID,
		deadline: noDeadline,
		topics:   make(map[string]bool),
		requests: make(map[string]pendingRequest),
		acks:     make(map[string]*ackEntry),
	}
}

// linkUp tells that a connection is open and registered: frames other than ping may be sent.
func (s *session) linkUp() bool { return s.state == stateRestoring || s.state == stateConnected }

// hasLink tells that a WebSocket connection exists (or is being opened).
func (s *session) hasLink() bool {
	return s.state == stateConnecting || s.state == stateRegistering || s.linkUp()
}

// nextDeadline is the absolute time of the next timer input the driver must arm; false: none.
func (s *session) nextDeadline() (int64, bool) {
	next := s.deadline
	for _, id := range s.ackOrder {
		if a := s.acks[id]; a != nil && a.localDeadline < next {
			next = a.localDeadline
		}
	}
	return next, next != noDeadline
}

// start opens the first connection.
func (s *session) start(now int64) []output {
	if s.state != stateIdle {
		return nil
	}
	return s.open(now)
}

func (s *session) open(now int64) []output {
	s.state = stateConnecting
	s.deadline = now + s.cfg.connectTimeout
	return []output{{Type: outOpen, URL: s.cfg.url}}
}

// setToken gives the credential the next registration ping carries (spec §10).
func (s *session) setToken(token string) { s.token = token }

// opened registers on the new connection: ping with the ID, the token and a rid (spec §3.1,
// §11). ConnectTimeout bounds the registration and the restoring of the subscriptions.
func (s *session) opened(now int64) []output {
	if s.state != stateConnecting {
		return nil
	}
	s.state = stateRegistering
	s.deadline = now + s.cfg.connectTimeout
	rid := s.newRID()
	s.requests[rid] = pendingRequest{kind: requestRegister}
	return []output{sendFrame(&envelope{Action: actionPing, From: s.cfg.id, Token: s.token, RID: rid})}
}

// registered restores every subscription of the registry, those made while offline included
// (spec §4.1); the connection is usable once each one is answered.
func (s *session) registered(now int64) []output {
	s.state = stateRestoring
	var out []output
	for _, topic := range sortedTopics(s.topics) {
		rid := s.newRID()
		s.requests[rid] = pendingRequest{kind: requestRestore, topic: topic}
		s.restoring++
		out = append(out, sendFrame(&envelope{Action: actionSubscribe, Topic: topic, From: s.cfg.id, RID: rid}))
	}
	if s.restoring == 0 {
		out = append(out, s.goOnline(now)...)
	}
	return out
}

// goOnline flushes the offline queue, oldest first, then reports the connection.
func (s *session) goOnline(now int64) []output {
	s.state = stateConnected
	s.deadline = noDeadline
	s.attempt = 0
	s.connected = true
	var out []output
	queued := s.offline
	s.offline = nil
	for _, item := range queued {
		if item.ackID != "" {
			a := s.acks[item.ackID]
			if a == nil {
				continue // cancelled or expired while waiting
			}
			item.frame.Timeout = max(a.serverDeadline-now, 1)
			a.sent = true
		}
		out = append(out, sendFrame(item.frame))
	}
	return append(out, emit(&event{Type: evConnected}))
}

// lost handles the end of the connection (or of the attempt to open one): what went out on it
// is forgotten by the server, and the session decides whether and when to reconnect.
func (s *session) lost(now int64, code int, reason string) []output {
	if !s.hasLink() {
		return nil
	}
	wasConnected := s.state == stateConnected
	out := s.dropLink()
	if wasConnected {
		out = append(out, emit(&event{Type: evDisconnected, Code: code, Reason: reason}))
	}
	if stop := s.stopReason(code, reason); stop != nil {
		return append(out, s.stop(stop)...)
	}
	delay := s.backoff()
	if code == CloseTokenExpired {
		delay = 0 // only the credential ran out: a new one is fetched at once (spec §10)
	}
	s.attempt++
	s.state = stateWaiting
	s.deadline = now + delay
	return append(out, emit(&event{Type: evReconnecting, Delay: delay}))
}

// dropLink forgets the requests of the connection that ended: their answers cannot come.
func (s *session) dropLink() []output {
	clear(s.requests)
	s.restoring = 0
	var out []output
	for _, id := range s.ackOrder {
		if a := s.acks[id]; a != nil && a.sent {
			out = append(out, s.endAck(a, errAckConnectionLost)...)
		}
	}
	return out
}

var errAckConnectionLost = fmt.Errorf("%w: connection lost before the answer", ErrNotConnected)

// stopReason returns why the session must not reconnect after a connection ended with code,
// or nil.
func (s *session) stopReason(code int, reason string) error {
	switch {
	case code == CloseReplaced:
		// Two clients with one ID would take it from each other forever (spec §3.3, §7.2).
		return ErrReplaced
	case (code == CloseUnauthorized || code == CloseTokenExpired) && !s.cfg.refreshable:
		// The same token would be refused again (spec §7.2, §10).
		return &AuthError{Code: code, Reason: reason}
	case s.connected && s.cfg.disableReconnect:
		return ErrNotConnected
	case !s.connected && !s.cfg.autorestart:
		return ErrConnectionFailed
	}
	return nil
}

// backoff is the delay before the next attempt: full jitter, uniform in
// [0, min(max, initial*factor^attempt)).
func (s *session) backoff() int64 {
	ceiling := float64(s.cfg.reconnectInitial) * math.Pow(s.cfg.reconnectFactor, float64(s.attempt))
	if ceiling > float64(s.cfg.reconnectMax) || math.IsInf(ceiling, 0) || math.IsNaN(ceiling) {
		ceiling = float64(s.cfg.reconnectMax)
	}
	return int64(s.random() * ceiling)
}

// stop makes the session final: pending requests end, the offline queue is dropped.
func (s *session) stop(reason error) []output {
	s.state = stateClosed
	s.stopped = reason
	s.deadline = noDeadline
	s.offline = nil
	clear(s.requests)
	var out []output
	for _, id := range s.ackOrder {
		if a := s.acks[id]; a != nil {
			out = append(out, s.endAck(a, reason)...)
		}
	}
	if reason == ErrReplaced || errors.Is(reason, ErrAuth) {
		out = append(out, emit(&event{Type: evError, Error: reason.Error(), Err: reason}))
	}
	return append(out, emit(&event{Type: evClosed, Err: reason}))
}

// closedByClient is the reason of the close frame the client sends on Close.
const closedByClient = "client closed"

// close is the application's Close: a close frame (1000) when a connection exists, then the end.
func (s *session) close(now int64) []output {
	if s.state == stateClosed {
		return nil
	}
	var out []output
	if s.hasLink() {
		out = append(out, output{Type: outClose, Code: CloseNormal, Reason: closedByClient})
	}
	if s.state == stateConnected {
		out = append(out, emit(&event{Type: evDisconnected, Code: CloseNormal, Reason: closedByClient}))
	}
	return append(out, s.stop(ErrClosed)...)
}

// timer handles every deadline reached at now: the backoff delay (next attempt), the connect
// timeout (the attempt failed) and the local deadlines of ack requests.
func (s *session) timer(now int64) []output {
	var out []output
	for _, id := range append([]string(nil), s.ackOrder...) {
		if a := s.acks[id]; a != nil && a.localDeadline <= now {
			out = append(out, s.expireAck(a)...)
		}
	}
	if s.deadline > now {
		return out
	}
	switch {
	case s.state == stateWaiting:
		out = append(out, s.open(now)...)
	case s.hasLink() && s.state != stateConnected:
		// The attempt took longer than ConnectTimeout: drop it and try again later.
		out = append(out, output{Type: outClose, Code: CloseNormal, Reason: "connect timeout"})
		out = append(out, s.lost(now, CloseAbnormal, "connect timeout")...)
	}
	return out
}

// stopError is why the session no longer connects: nil while it does.
func (s *session) stopError() error { return s.stopped }
