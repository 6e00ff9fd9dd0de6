package ksps

// Message is what a Subscribe callback or the OnID handler receives: the payload that was
// published and the registered ID of its sender.
type Message struct {
	// Data is the published payload decoded from JSON: nil, bool, float64, string,
	// []any or map[string]any (json.Number instead of float64 with ClientOptions.UseNumber).
	Data any `json:"data"`
	// From is the sender's client ID, or the server's ID for server publications.
	From string `json:"from"`
	// Offset is the publication's offset in its topic's stream (spec/protocol.md §14.2), on
	// topics with history; 0 elsewhere (offsets start at 1). The client remembers the latest one
	// (Client.Position) and recovers from it after a reconnection.
	Offset int64 `json:"offset,omitempty"`
}

// AckResponse is one responder's answer to a publication with acknowledgement
// (spec/protocol.md §2.3).
type AckResponse struct {
	// AckID is the server's ID for the delivery (not the publisher's request ID).
	AckID string `json:"ack_id"`
	// ClientID is the responder's registered ID (internal_<n> for server-side subscribers).
	ClientID string `json:"client_id"`
	// Success is false when the responder's callback failed or it had no callback.
	Success bool `json:"success"`
	// Error explains a failure; empty on success.
	Error string `json:"error,omitempty"`
}
