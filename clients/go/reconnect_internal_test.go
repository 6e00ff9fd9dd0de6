package ksps

import (
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
