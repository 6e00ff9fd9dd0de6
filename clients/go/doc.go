// Package ksps is the Go client of ksps, a real-time publish/subscribe system over WebSocket
// that is wire-compatible with the original KSPS (github.com/kamalshkeir/ksmux).
//
// A client connects to a server, subscribes to topics, publishes to topics or to other clients
// by ID, and can ask the receivers to acknowledge a publication:
//
//	client, err := ksps.NewClient(ksps.ClientOptions{Address: "localhost:9313"})
//	if err != nil {
//		log.Fatal(err)
//	}
//	defer client.Close()
//	client.Subscribe("events", func(msg ksps.Message, unsubscribe func()) {
//		fmt.Printf("Got %v from %s\n", msg.Data, msg.From)
//	})
//	ack := client.PublishWithAck("events", "From Go!", 3*time.Second)
//	first, ok := ack.WaitAny() // the first subscriber to answer
//
// After a lost connection the client reconnects with exponential backoff and full jitter,
// registers its ID again, restores its subscriptions and sends the publications made while
// offline (a bounded queue). It never reconnects after close code 4001: another connection took
// its ID. ClientOptions.Autorestart makes it keep trying when the very first connection fails.
//
// With a server that requires tokens (§10), ClientOptions.Token is sent in the registration ping
// (never in the URL), or ClientOptions.GetToken supplies one on every (re)connection and shortly
// before the token expires (refreshed in place). A refused or expired token is an *AuthError
// (errors.Is ErrAuth); a refused operation is a *ServerErrorReply with a Code such as "forbidden".
//
// On topics with history (§14) every Message has its Offset, and the client recovers by itself:
// after a reconnection it subscribes again since the position it reached, so the publications
// missed meanwhile arrive first, once and in order; ClientOptions.OnSubscribed tells whether
// anything was lost for good. Client.Position gives the position to store,
// SubscribeOptions.Since continues from a stored one, and Client.History reads a topic's kept
// publications.
//
// An Ack handle answers what it knows synchronously (IsComplete, GetStatus, Cancel); FetchStatus
// asks the server and fails with ErrNotConnected when it cannot.
//
// The client is a thin driver around a sans-I/O session core (core.go) that owns registration,
// resubscription, the offline queue, ack state and reconnection; the trace vectors of
// spec/traces, shared with the Python and JavaScript clients, pin its behaviour.
//
// Until the repository is published, use the module through a replace directive (README.md,
// "Use before publication").
//
// The protocol is described in spec/protocol.md at the root of the repository; comments cite
// its sections as §N.
package ksps
