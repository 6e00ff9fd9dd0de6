package ksps

import (
	"errors"
	"fmt"
	"testing"
)

// One meaning per error name in every client (spec/vocabulary.toml, docs/api-names.md).
func TestReplacedIsAKindOfClosed(t *testing.T) {
	if !errors.Is(ErrReplaced, ErrClosed) || !errors.Is(fmt.Errorf("wrapped: %w", ErrReplaced), ErrClosed) {
		t.Fatal("ErrReplaced must match ErrClosed with errors.Is, as ConnectionReplaced subclasses ClientClosed")
	}
	if !errors.Is(ErrReplaced, ErrReplaced) || errors.Is(ErrClosed, ErrReplaced) {
		t.Fatal("ErrReplaced is a kind of ErrClosed, not the reverse")
	}
}

func TestCallbackErrorUnwrapsThePanicValue(t *testing.T) {
	cause := errors.New("boom")
	err := error(&CallbackError{Topic: "jobs", Value: cause})
	if !errors.Is(err, cause) || err.Error() != `ksps: the callback of topic "jobs" panicked: boom` {
		t.Fatalf("got %v", err)
	}
	var reply *ServerErrorReply
	if errors.As(err, &reply) {
		t.Fatal("a CallbackError is not a ServerErrorReply")
	}
}
