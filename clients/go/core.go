package ksps

import (
	"errors"
	"fmt"
	"math"
)

// session is the client's sans-I/O core: the state machine that owns registration,
// resubscription, the offline queue, the state of ack requests and the reconnection decisions.
// It does no I/O, starts no goroutine and never reads the clock: every input comes with the
// time (milliseconds from an arbitrary origin), jitter comes from an injected function, and
// request and ack IDs from counters. Every input returns the outputs the driver must carry out,
// in order (open a connection, send a frame, close it, emit an event); nextDeadline tells when
// to feed the next timer input.
//
// Its behaviour is pinned by the trace vectors of spec/traces/*.json, recorded from the Python
// ClientSession and replayed by the Python, JavaScript and Go clients (trace_test.go), so that
// the three cannot diverge silently. States: idle -> connecting (open asked) -> registering
// (ping sent) -> restoring (pong received, subscriptions sent again) -> ready (restored, offline
// queue sent, connected) -> waiting (backoff) -> connecting ...; closed is final.
//
// A session is not safe for concurrent use: the driver (Client) holds its lock around every
// input.
type session struct {
	cfg    sessionConfig
	random func() float64 // uniform in [0, 1): backoff jitter

	state         sessionState
	connected     bool // ready on the current connection (a loss is then a disconnection)
	everConnected bool
	token         string // sent with the next registration ping (spec §10)
	attempt       int    // reconnection attempts since the last registration
	connectAt     int64  // the connect deadline, or noDeadline
	retryAt       int64  // the end of the backoff delay, or noDeadline
	stopped       error  // why the session closed for good (ErrClosed, ErrReplaced, ...)

	topics    orderedTopics   // the subscription registry, restored in order on every connection
	joinLeave map[string]bool // topics subscribed with JoinLeave: restored with it (spec §15.3)
	requests  requestBook     // requests of the current connection awaiting their reply
	restoring int             // resubscriptions still unanswered
	offline   []queuedFrame
	acks      ackBook

	// positions: the stream position of the latest delivery of recorded topics with history,
	// sent as since when they are restored (spec §14.3, core_history.go).
	positions map[string]StreamPosition
}

// sessionConfig is what the session needs from ClientOptions, durations in milliseconds; the
// trace vectors give the same settings under the vocabulary's snake_case names.
type sessionConfig struct {
	id                string
	url               string
	token             string
	refreshable       bool // GetToken can supply a new token: an auth refusal is retried
	autorestart       bool // the FIRST connection's failure is retried
	reconnect         bool // a lost connection is re-established (never after 4001)
	reconnectInitial  int64
	reconnectFactor   float64
	reconnectMax      int64
	offlineQueueSize  int // negative: no offline queue
	overflow          OverflowPolicy
	connectTimeout    int64
	defaultAckTimeout int64
}

type sessionState int

const (
	stateIdle        sessionState = iota
	stateConnecting               // open was output, waiting for opened
	stateRegistering              // ping sent, waiting for its pong (spec §3.1)
	stateRestoring                // subscribe sent again for every topic, waiting for the answers
	stateReady                    // registered, restored, offline queue sent
	stateWaiting                  // waiting for the backoff deadline before the next attempt
	stateClosed                   // for good
)

const noDeadline = int64(math.MaxInt64)

// Close codes and the HTTP status after which the client does not come back on its own
// (spec §7.2, §10). A driver reports an HTTP 401 at the upgrade as the lost code 401.
const httpUnauthorized = 401

// ackGraceMs is how long after its timeout a request waits for the server's final ack_response,
// which the server sends when the timeout expires (spec §6.2); then it ends with what it has.
const ackGraceMs = 500

func newSession(cfg sessionConfig, random func() float64) *session {
	return &session{
		cfg: cfg, random: random, token: cfg.token,
		connectAt: noDeadline, retryAt: noDeadline,
		topics: newOrderedTopics(), requests: newRequestBook(), acks: newAckBook(cfg.id),
		joinLeave: make(map[string]bool), positions: make(map[string]StreamPosition),
	}
}

// registered tells that the server answered ping on the current connection: requests may go out.
func (s *session) registered() bool { return s.state == stateRestoring || s.state == stateReady }

// linked tells that a connection exists or is being opened.
func (s *session) linked() bool {
	return s.state == stateConnecting || s.state == stateRegistering || s.registered()
}

// nextDeadline is the absolute time of the next timer input the driver must arm; false: none.
func (s *session) nextDeadline() (int64, bool) {
	next := min(s.connectAt, s.retryAt, s.acks.nextDeadline())
	return next, next != noDeadline
}

// stopError is why the session no longer connects; nil while it may.
func (s *session) stopError() error { return s.stopped }

// start begins: the first connection attempt.
func (s *session) start(now int64) []output {
	if s.state != stateIdle {
		return nil
	}
	return s.open(now)
}

func (s *session) open(now int64) []output {
	s.state = stateConnecting
	s.retryAt = noDeadline
	s.connectAt = now + s.cfg.connectTimeout
	return []output{{Type: outOpen, URL: s.cfg.url}}
}

// setToken makes the next registrations send token (a driver with GetToken sets it before
// each attempt).
func (s *session) setToken(token string) { s.token = token }

// opened registers on the new connection: ping with the ID, the token and a rid (spec §3.1,
// §10.3, §11). The connect deadline starts again.
func (s *session) opened(now int64) []output {
	if s.state != stateConnecting {
		return nil
	}
	s.state = stateRegistering
	req := s.requests.add(requestPing, "", "")
	s.connectAt = now + s.cfg.connectTimeout
	return []output{sendFrame(&envelope{Action: actionPing, From: s.cfg.id, Token: s.token, RID: req.rid})}
}

// lost handles the end of the connection, or of the attempt to open one; code 0 means that no
// close frame came.
func (s *session) lost(now int64, code int, reason string) []output {
	if !s.linked() {
		return nil
	}
	return s.gone(now, code, reason, nil)
}

// timer handles every deadline reached at now: the connect timeout (the attempt failed), the
// end of the backoff delay (the next attempt) and the deadlines of ack requests.
func (s *session) timer(now int64) []output {
	var out []output
	if now >= s.connectAt {
		out = append(out, output{Type: outClose, Code: CloseNormal, Reason: "connect timeout"})
		failure := fmt.Errorf("%w: %s: timed out", ErrConnectionFailed, s.cfg.url)
		out = append(out, s.gone(now, 0, "connect timeout", failure)...)
	}
	if now >= s.retryAt {
		out = append(out, s.open(now)...)
	}
	for _, a := range s.acks.expired(now) {
		out = append(out, s.endAck(a, ackExpired, nil)...)
	}
	return out
}

// close is the application's Close: a close frame when a connection exists, then closed; no
// disconnected event (the application knows).
func (s *session) close(now int64) []output {
	if s.state == stateClosed {
		return nil
	}
	var out []output
	if s.linked() {
		out = append(out, output{Type: outClose, Code: CloseNormal, Reason: ""})
	}
	return append(out, s.finish(ErrClosed)...)
}

// refreshToken sends a new token on the ready connection (a ping, spec §10.5); a refusal is an
// error event.
func (s *session) refreshToken(now int64, token string) []output {
	s.token = token
	if s.state != stateReady {
		return nil
	}
	req := s.requests.add(requestRefresh, "", "")
	return []output{sendFrame(&envelope{Action: actionPing, From: s.cfg.id, Token: token, RID: req.rid})}
}

// registeredOnLink is the pong of the registration: subscribe again to every recorded topic, in
// the order they were first subscribed (spec §4.1).
func (s *session) registeredOnLink() []output {
	s.state = stateRestoring
	s.attempt = 0
	var out []output
	for _, topic := range s.topics.order {
		req := s.requests.add(requestRestore, topic, s.topics.handles[topic])
		// Every remembered position goes with its restore: the server replays what was missed.
		since := s.sinceOf(topic)
		req.recovering = since != nil
		out = append(out, sendFrame(&envelope{Action: actionSubscribe, Topic: topic, From: s.cfg.id, RID: req.rid,
			JoinLeave: s.joinLeave[topic], Since: since}))
	}
	s.restoring = len(s.topics.order)
	if s.restoring == 0 {
		out = append(out, s.ready()...)
	}
	return out
}

func (s *session) restoredOne() []output {
	s.restoring--
	if s.restoring <= 0 && s.state == stateRestoring {
		return s.ready()
	}
	return nil
}

// ready sends the queued publications, oldest first, then reports the connection.
func (s *session) ready() []output {
	s.state = stateReady
	s.connectAt = noDeadline
	var out []output
	queued := s.offline
	s.offline = nil
	for _, item := range queued {
		if item.handle != "" {
			a := s.acks.byHandle[item.handle]
			if a == nil {
				continue // the request ended (cancel, timeout) while queued: nobody waits for it
			}
			a.sent = true
		}
		out = append(out, sendFrame(item.frame))
	}
	s.connected, s.everConnected = true, true
	return append(out, emit(&event{Type: evConnected}))
}

// gone: the current connection is over. What it carried is released, then the session retries
// or closes for good. failure is why an attempt failed, when known.
func (s *session) gone(now int64, code int, reason string, failure error) []output {
	wasConnected := s.connected
	s.state = stateWaiting
	s.connected = false
	s.connectAt = noDeadline
	s.restoring = 0
	var out []output
	if wasConnected {
		out = append(out, emit(&event{Type: evDisconnected, Code: code, Reason: reason}))
	}
	out = append(out, s.releaseRequests()...)
	for _, a := range s.acks.sent() {
		// The server forgot them with the connection (spec §6.2).
		out = append(out, s.endAck(a, ackAborted, errAckConnectionLost)...)
	}
	switch {
	case code == CloseReplaced:
		// Another connection took this ID; coming back would kick it out in turn (spec §3.3, §7.2).
		out = append(out, emit(&event{Type: evError, Error: errConnectionReplaced, CloseCode: code, Err: ErrReplaced}))
		return append(out, s.finish(ErrReplaced)...)
	case code == CloseUnauthorized || code == CloseTokenExpired || code == httpUnauthorized:
		refused := &AuthError{Code: code, Reason: reason}
		out = append(out, emit(&event{Type: evError, Error: errAuth, CloseCode: code, Err: refused}))
		if !s.cfg.refreshable || (!s.everConnected && !s.cfg.autorestart) {
			// The same token would be refused again (§7.2); or the first connection failed.
			return append(out, s.finish(refused)...)
		}
		return append(out, s.retry(now, code == CloseTokenExpired)...)
	case !wasConnected:
		if failure == nil {
			failure = fmt.Errorf("%w: %s: %s", ErrConnectionFailed, s.cfg.url, reason)
		}
		out = append(out, failureEvent(failure))
		if !s.everConnected && !s.cfg.autorestart {
			return append(out, s.finish(failure)...)
		}
		return append(out, s.retry(now, false)...)
	case !s.cfg.reconnect:
		return append(out, s.finish(ErrNotConnected)...)
	}
	return append(out, s.retry(now, false)...)
}

var errAckConnectionLost = fmt.Errorf("%w: connection lost before the answer", ErrNotConnected)

// failureEvent reports a failed attempt: ConnectionFailed, with the server's code when an error
// frame refused the registration.
func failureEvent(failure error) output {
	ev := &event{Type: evError, Error: errConnectionFailed, Err: failure}
	var refused *ServerErrorReply
	if errors.As(failure, &refused) {
		ev.ErrCode = refused.Code
	}
	return emit(ev)
}

// releaseRequests answers the requests whose reply can no longer come on the lost connection.
// A pending subscribe keeps its handle in the registry: the next restore confirms it.
func (s *session) releaseRequests() []output {
	var out []output
	for _, req := range s.requests.takeAll() {
		if req.handle == "" {
			continue
		}
		switch req.kind {
		case requestUnsubscribe:
			out = append(out, emit(&event{Type: evUnsubscribed, Handle: req.handle}))
		case requestStatus:
			out = append(out, refusedEvent(req.handle, errNotConnected, "", ErrNotConnected))
		case requestPresence:
			lost := fmt.Errorf("%w: connection lost before the presence answer", ErrNotConnected)
			out = append(out, refusedEvent(req.handle, errNotConnected, "", lost))
		case requestHistory:
			lost := fmt.Errorf("%w: connection lost before the history answer", ErrNotConnected)
			out = append(out, refusedEvent(req.handle, errNotConnected, "", lost))
		}
	}
	return out
}

// retry waits before the next attempt: at once, or a delay with full jitter,
// floor(r * min(max, initial * factor^n)).
func (s *session) retry(now int64, atOnce bool) []output {
	delay := int64(0)
	if !atOnce {
		delay = s.backoff()
		s.attempt++
	}
	s.state = stateWaiting
	s.retryAt = now + delay
	return []output{emit(&event{Type: evReconnecting, Delay: delay})}
}

func (s *session) backoff() int64 {
	// The exponent is capped: the bound stops growing long before a float overflows.
	bound := float64(s.cfg.reconnectInitial) * math.Pow(s.cfg.reconnectFactor, float64(min(s.attempt, 64)))
	bound = min(bound, float64(s.cfg.reconnectMax))
	return int64(math.Floor(s.random() * bound))
}

// finish closes the session for good: every pending handle is over, nothing else follows.
func (s *session) finish(reason error) []output {
	s.state = stateClosed
	s.stopped = reason
	s.connected = false
	s.connectAt, s.retryAt = noDeadline, noDeadline
	s.requests.takeAll()
	ended := s.acks.clear()
	s.offline = nil
	s.topics = newOrderedTopics()
	s.joinLeave = make(map[string]bool)
	s.positions = make(map[string]StreamPosition) // as the Python core: no subscription, no position
	return []output{emit(&event{Type: evClosed, Err: reason, Ended: ended})}
}
