package ksps

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// envelope is one frame of spec/protocol.md §2: a JSON object with a string action and optional
// members. Empty members are omitted, as the server does.
type envelope struct {
	Action    string          `json:"action"`
	Topic     string          `json:"topic,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
	From      string          `json:"from,omitempty"`
	To        string          `json:"to,omitempty"`
	ID        string          `json:"id,omitempty"`
	Error     string          `json:"error,omitempty"`
	AckID     string          `json:"ack_id,omitempty"`
	Status    map[string]bool `json:"status,omitempty"`
	Responses *ackResponses   `json:"responses,omitempty"`
	// Timeout is the ksps extension of §6.2, in milliseconds.
	Timeout int64 `json:"timeout,omitempty"`
	// Progress asks for ack_progress frames (§6.3).
	Progress bool `json:"progress,omitempty"`
	// Token is a credential on ping (§10).
	Token string `json:"token,omitempty"`
	// RID matches the server's answers, refusals included, to a request (§11).
	RID string `json:"rid,omitempty"`
	// Code is the machine-readable class of an error frame (§11).
	Code string `json:"code,omitempty"`
	// JoinLeave asks, on subscribe, for the topic's join/leave events (§15.3).
	JoinLeave bool `json:"join_leave,omitempty"`
	// Count, IDs and Truncated are the members of a presence reply (§15.2).
	Count     int      `json:"count,omitempty"`
	IDs       []string `json:"ids,omitempty"`
	Truncated bool     `json:"truncated,omitempty"`
	// Since asks, on subscribe and history, for what follows a stream position (§14.3, §14.4).
	Since *wirePosition `json:"since,omitempty"`
	// Limit and Reverse are the options of a history read (§14.4); a Limit of 0 is sent (it asks
	// for the position only), nil is not.
	Limit   *int `json:"limit,omitempty"`
	Reverse bool `json:"reverse,omitempty"`
	// Offset, Epoch, Recovered and Publications are the stream members of deliveries and of the
	// subscribed and history replies (§14.2-§14.4). They are kept raw and read leniently
	// (wireInt, wireString, ...): a member of the wrong type reads as absent instead of making
	// the whole frame undecodable, since a client never trusts a frame.
	Offset       json.RawMessage `json:"offset,omitempty"`
	Epoch        json.RawMessage `json:"epoch,omitempty"`
	Recovered    json.RawMessage `json:"recovered,omitempty"`
	Publications json.RawMessage `json:"publications,omitempty"`
}

// wirePosition is the since member of subscribe and history: a stream position (§14.3).
type wirePosition struct {
	Offset int64  `json:"offset"`
	Epoch  string `json:"epoch"`
}

// wireInt reads a raw member that must be a JSON integer (no fraction, no exponent, within
// int64, as the Python core's `type(x) is int`); false when absent or of another type.
func wireInt(raw json.RawMessage) (int64, bool) {
	text := string(bytes.TrimSpace(raw))
	if text == "" || strings.ContainsAny(text, ".eE") {
		return 0, false
	}
	n, err := strconv.ParseInt(text, 10, 64)
	return n, err == nil
}

// wireString reads a raw member that must be a JSON string.
func wireString(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

// wireBool reads a raw member that must be a JSON boolean.
func wireBool(raw json.RawMessage) (value, ok bool) {
	switch string(bytes.TrimSpace(raw)) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// encodeFrame serialises a frame. It cannot fail for envelopes built by this package: Data was
// validated by encodeData and the other members are strings, bools and maps of them.
func encodeFrame(e *envelope) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	// HTML escaping is legal JSON but pointless on this wire and costs bytes.
	enc.SetEscapeHTML(false)
	if err := enc.Encode(e); err != nil {
		panic(fmt.Sprintf("ksps: encoding a frame: %v", err))
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// encodeData turns a caller's payload into JSON once, so that an unsupported value is reported
// by the call that passed it, not later when a queued frame is sent.
func encodeData(data any) (json.RawMessage, error) {
	if raw, ok := data.(json.RawMessage); ok && json.Valid(raw) {
		return raw, nil
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(data); err != nil {
		return nil, fmt.Errorf("ksps: data cannot be encoded as JSON: %w", err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// decodeFrames parses one incoming text frame. The server sends one object per frame; a JSON
// array of objects is accepted too, for tolerance of the original's batch format.
func decodeFrames(frame []byte) ([]envelope, error) {
	trimmed := bytes.TrimLeft(frame, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		var batch []envelope
		if err := json.Unmarshal(trimmed, &batch); err != nil {
			return nil, fmt.Errorf("ksps: invalid frame from server: %w", err)
		}
		return batch, nil
	}
	var single envelope
	if err := json.Unmarshal(trimmed, &single); err != nil {
		return nil, fmt.Errorf("ksps: invalid frame from server: %w", err)
	}
	return []envelope{single}, nil
}

// payloadDecoder decodes payloads into Go values, keeping numbers as json.Number when asked.
type payloadDecoder struct{ useNumber bool }

// value decodes raw JSON; absent data is nil.
func (d payloadDecoder) value(raw json.RawMessage) any {
	if len(raw) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	if d.useNumber {
		dec.UseNumber()
	}
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil
	}
	return v
}

// decodeAckResponse reads the AckResponse carried in an ack_progress frame (§6.3).
func decodeAckResponse(raw json.RawMessage) (AckResponse, bool) {
	var resp AckResponse
	if len(raw) == 0 || json.Unmarshal(raw, &resp) != nil {
		return AckResponse{}, false
	}
	return resp, true
}

// ackResponses is the responses member of an ack_response (spec §6.2), keyed by responder ID,
// keeping the order of the frame: the session reports them in that order.
type ackResponses struct {
	keys   []string
	values map[string]AckResponse
}

// UnmarshalJSON reads the object in order; null is empty.
func (r *ackResponses) UnmarshalJSON(raw []byte) error {
	*r = ackResponses{}
	dec := json.NewDecoder(bytes.NewReader(raw))
	tok, err := dec.Token()
	if err != nil || tok == nil {
		return err
	}
	if delim, ok := tok.(json.Delim); !ok || delim != '{' {
		return fmt.Errorf("ksps: responses must be an object")
	}
	r.values = make(map[string]AckResponse)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		var resp AckResponse
		if err := dec.Decode(&resp); err != nil {
			return err
		}
		if _, seen := r.values[key]; !seen {
			r.keys = append(r.keys, key)
		}
		r.values[key] = resp
	}
	return nil
}

// MarshalJSON writes the responses in order.
func (r ackResponses) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, key := range r.keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		k, _ := json.Marshal(key)
		v, err := json.Marshal(r.values[key])
		if err != nil {
			return nil, err
		}
		buf.Write(k)
		buf.WriteByte(':')
		buf.Write(v)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}
