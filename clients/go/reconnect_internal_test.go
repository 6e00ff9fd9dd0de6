package ksps

import (
	"testing"
	"time"
)

func TestBackoffCeilingGrowsAndIsCapped(t *testing.T) {
	b := backoff{initial: 100 * time.Millisecond, max: time.Second, factor: 2}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for attempt, ms := range want {
		if got := b.ceiling(attempt); got != ms*time.Millisecond {
			t.Errorf("ceiling(%d) = %v, want %v", attempt, got, ms*time.Millisecond)
		}
	}
	if got := b.ceiling(5000); got != time.Second {
		t.Errorf("a huge attempt number must stay capped, got %v", got)
	}
}

func TestBackoffDelayIsFullJitter(t *testing.T) {
	for _, r := range []float64{0, 0.5, 0.999} {
		b := backoff{initial: 100 * time.Millisecond, max: time.Second, factor: 2, random: func() float64 { return r }}
		if got, want := b.delay(2), time.Duration(r*float64(400*time.Millisecond)); got != want {
			t.Errorf("delay with random %v = %v, want %v", r, got, want)
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
