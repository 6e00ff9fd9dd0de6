package ksps

import (
	"errors"
	"testing"
	"time"
)

func TestBackoffIsFullJitterGrowingAndCapped(t *testing.T) {
	cfg := sessionConfig{reconnectInitial: 100, reconnectMax: 1000, reconnectFactor: 2}
	ceilings := []int64{100, 200, 400, 800, 1000, 1000}
	for _, r := range []float64{0, 0.5, 0.999} {
		s := newSession(cfg, func() float64 { return r })
		for attempt, ceiling := range ceilings {
			s.attempt = attempt
			if got, want := s.backoff(), int64(r*float64(ceiling)); got != want {
				t.Errorf("backoff(attempt %d, random %v) = %d, want %d", attempt, r, got, want)
			}
		}
		s.attempt = 5000
		if got := s.backoff(); got != int64(r*1000) {
			t.Errorf("a huge attempt number must stay capped, got %d", got)
		}
	}
}

func TestDefaultsAndValidation(t *testing.T) {
	if _, err := (ClientOptions{}).withDefaults(); err == nil {
		t.Error("Address is required")
	}
	opts, err := ClientOptions{Address: "h:1", RestartEvery: 3 * time.Second}.withDefaults()
	if err != nil {
		t.Fatal(err)
	}
	if opts.ReconnectInitialDelay != 3*time.Second || opts.ReconnectMaxDelay != DefaultReconnectMaxDelay || opts.Path != DefaultPath || len(opts.ID) != 36 {
		t.Errorf("defaults: %+v", opts)
	}
	if opts.url() != "ws://h:1/ws/bus" {
		t.Errorf("url = %s", opts.url())
	}
	secure := ClientOptions{Address: "h:1", Path: "/bus?token=x", Secure: true}
	if secure.url() != "wss://h:1/bus?token=x" {
		t.Errorf("url = %s", secure.url())
	}
}

// readySession is a session registered on its first connection.
func readySession(t *testing.T, cfg sessionConfig) *session {
	t.Helper()
	cfg.id, cfg.url, cfg.connectTimeout = "c1", "ws://h/ws/bus", 1000
	s := newSession(cfg, func() float64 { return 0.5 })
	s.start(0)
	s.opened(1)
	if out := s.frame(2, &envelope{Action: actionPong, RID: "1"}); len(out) != 1 || out[0].Event.Type != evConnected {
		t.Fatalf("registration: %+v", out)
	}
	return s
}

// Options of the Go client that the traces do not cover: DisableReconnect makes a loss final
// (ErrNotConnected), a negative OfflineQueueSize refuses publications while offline.
func TestCoreGoOnlyOptions(t *testing.T) {
	s := readySession(t, sessionConfig{reconnect: false, offlineQueueSize: -1, reconnectFactor: 2})
	out := s.lost(10, CloseAbnormal, "")
	if last := out[len(out)-1].Event; last.Type != evClosed || last.Err != ErrNotConnected {
		t.Errorf("a loss without reconnect must close with ErrNotConnected: %+v", last)
	}
	if _, err := s.publish(11, &envelope{Action: actionPublish, Topic: "t"}); err != ErrNotConnected {
		t.Errorf("publish after the end = %v", err)
	}

	s = readySession(t, sessionConfig{reconnect: true, offlineQueueSize: -1, reconnectFactor: 2})
	s.lost(10, CloseAbnormal, "")
	if _, err := s.publish(11, &envelope{Action: actionPublish, Topic: "t"}); !errors.Is(err, ErrNotConnected) {
		t.Errorf("publish offline without a queue = %v", err)
	}
}

// A request with ack sent by the offline queue's flush is on the connection: losing it ends the
// request.
func TestCoreFlushedAckEndsWithItsConnection(t *testing.T) {
	cfg := sessionConfig{id: "c1", url: "ws://h/ws/bus", connectTimeout: 1000, reconnect: true, autorestart: true,
		reconnectInitial: 100, reconnectFactor: 2, reconnectMax: 1000, offlineQueueSize: 10}
	s := newSession(cfg, func() float64 { return 0.5 })
	s.start(0)
	_, out, err := s.publishWithAck(1, &envelope{Action: actionPublishWithAck, Topic: "t"}, 5000, "h1")
	if err != nil || len(out) != 0 {
		t.Fatalf("queued request: %v %+v", err, out)
	}
	s.opened(2)
	out = s.frame(3, &envelope{Action: actionPong, RID: "1"})
	if len(out) != 2 || out[0].Frame.AckID != "client_ack_c1_1" || out[1].Event.Type != evConnected {
		t.Fatalf("flush: %+v", out)
	}
	out = s.lost(4, CloseAbnormal, "")
	if len(out) < 2 || out[1].Event.Type != evAckDone || !errors.Is(out[1].Event.Err, ErrNotConnected) {
		t.Errorf("loss after the flush: %+v", out)
	}
}
