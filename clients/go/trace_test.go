package ksps

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// The trace vectors of spec/traces (recorded from the Python ClientSession, replayed by every
// client; format in spec/traces/README.md) replayed through the Go session core: the exact
// outputs of every step, and the next deadline when the step gives one.

const tracesDir = "../../spec/traces"

type trace struct {
	Name    string         `json:"name"`
	Options map[string]any `json:"options"`
	Random  []float64      `json:"random"`
	Steps   []traceStep    `json:"steps"`
}

type traceStep struct {
	At       int64          `json:"at"`
	Input    map[string]any `json:"input"`
	Output   []any          `json:"output"`
	Deadline deadlineField  `json:"deadline"`
}

func TestTraceVectors(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(tracesDir, "*.json"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no trace vectors in %s: %v", tracesDir, err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".json"), func(t *testing.T) {
			raw, err := os.ReadFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if err := replayTrace(raw, filepath.Base(file)); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestTraceReplayCanFail: altered vectors (another rid, a deadline that is not the next timer,
// no deadline where there is one) do not replay.
func TestTraceReplayCanFail(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(tracesDir, "registration.json"))
	if err != nil {
		t.Fatal(err)
	}
	for _, change := range [][2]string{
		{`"rid": "1"`, `"rid": "2"`},
		{`"deadline": null`, `"deadline": 5`},
		{`"deadline": 10000`, `"deadline": null`},
	} {
		wrong := strings.Replace(string(raw), change[0], change[1], 1)
		if wrong == string(raw) {
			t.Fatalf("the registration vector has no %s to change", change[0])
		}
		if err := replayTrace([]byte(wrong), "registration.json (altered)"); err == nil {
			t.Errorf("a vector with %s instead of %s replayed without a difference", change[1], change[0])
		}
	}
}

// replayTrace replays one vector; the error names the file, the step, and expected vs got.
func replayTrace(raw []byte, name string) error {
	var tr trace
	if err := json.Unmarshal(raw, &tr); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if want := strings.TrimSuffix(name, ".json"); tr.Name != want && !strings.Contains(name, "altered") {
		return fmt.Errorf("%s: name %q differs from the file name", name, tr.Name)
	}
	cfg, err := traceConfig(tr.Options)
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	random := tr.Random
	var ranOut bool
	s := newSession(cfg, func() float64 {
		if len(random) == 0 {
			ranOut = true
			return 0
		}
		r := random[0]
		random = random[1:]
		return r
	})
	for i, step := range tr.Steps {
		outs, err := applyTraceInput(s, step.At, step.Input)
		where := fmt.Sprintf("%s step %d (at %d, %v)", name, i, step.At, step.Input["type"])
		if err != nil {
			return fmt.Errorf("%s: %w", where, err)
		}
		if ranOut {
			return fmt.Errorf("%s: the trace's random values ran out", where)
		}
		got := make([]any, 0, len(outs))
		for _, out := range outs {
			got = append(got, out.traceJSON())
		}
		if !sameJSON(got, step.Output) {
			return fmt.Errorf("%s:\n  expected %s\n  got      %s", where, compact(step.Output), compact(got))
		}
		if step.Deadline.present {
			deadline, ok := s.nextDeadline()
			if want := step.Deadline.at; (want == nil) == ok || (want != nil && *want != deadline) {
				return fmt.Errorf("%s: deadline expected %s, got %d (set: %v)", where, step.Deadline.raw, deadline, ok)
			}
		}
	}
	return nil
}

// traceConfig reads a vector's options: snake_case names, milliseconds, the vocabulary's
// defaults for absent ones.
func traceConfig(options map[string]any) (sessionConfig, error) {
	cfg := sessionConfig{
		reconnect:        true,
		reconnectInitial: 500, reconnectFactor: 2, reconnectMax: 30000,
		offlineQueueSize: 1024, connectTimeout: 10000, defaultAckTimeout: 30000,
	}
	address, path, secure := "", "/ws/bus", false
	for key, value := range options {
		num, _ := value.(float64)
		str, _ := value.(string)
		flag, _ := value.(bool)
		switch key {
		case "id":
			cfg.id = str
		case "address":
			address = str
		case "path":
			path = str
		case "secure":
			secure = flag
		case "token":
			cfg.token = str
		case "refreshable_token":
			cfg.refreshable = flag
		case "autorestart":
			cfg.autorestart = flag
		case "reconnect":
			cfg.reconnect = flag
		case "reconnect_initial_delay":
			cfg.reconnectInitial = int64(num)
		case "reconnect_factor":
			cfg.reconnectFactor = num
		case "reconnect_max_delay":
			cfg.reconnectMax = int64(num)
		case "offline_queue_size":
			cfg.offlineQueueSize = int(num)
		case "offline_queue_policy":
			policy, ok := map[string]OverflowPolicy{"drop_oldest": OverflowDropOldest, "drop_newest": OverflowDropNewest, "raise": OverflowReject}[str]
			if !ok {
				return cfg, fmt.Errorf("unknown offline_queue_policy %q", str)
			}
			cfg.overflow = policy
		case "connect_timeout":
			cfg.connectTimeout = int64(num)
		default:
			return cfg, fmt.Errorf("unknown session option %q", key)
		}
	}
	scheme := "ws://"
	if secure {
		scheme = "wss://"
	}
	cfg.url = scheme + address + path
	return cfg, nil
}

// applyTraceInput feeds one input of a vector to the session.
func applyTraceInput(s *session, now int64, in map[string]any) ([]output, error) {
	str := func(key string) string { v, _ := in[key].(string); return v }
	data := func() json.RawMessage { raw, _ := json.Marshal(in["data"]); return raw }
	handle := str("handle")
	switch in["type"] {
	case "start":
		return s.start(now), nil
	case "opened":
		return s.opened(now), nil
	case "frame":
		raw, _ := json.Marshal(in["frame"])
		frames, err := decodeFrames(raw)
		if err != nil {
			return nil, err
		}
		var out []output
		for i := range frames {
			out = append(out, s.frame(now, &frames[i])...)
		}
		return out, nil
	case "lost":
		code, _ := in["code"].(float64)
		return s.lost(now, int(code), str("reason")), nil
	case "timer":
		return s.timer(now), nil
	case "close":
		return s.close(now), nil
	case "subscribe":
		joinLeave, _ := in["join_leave"].(bool)
		since, err := tracePosition(in["since"])
		if err != nil {
			return nil, err
		}
		return s.subscribe(now, str("topic"), handle, joinLeave, since), nil
	case "presence":
		return s.presence(now, str("topic"), handle), nil
	case "history":
		since, err := tracePosition(in["since"])
		if err != nil {
			return nil, err
		}
		var limit *int
		if value, ok := in["limit"]; ok && value != nil {
			number, isNumber := value.(float64)
			if !isNumber {
				return nil, fmt.Errorf("history limit %v is not a number", value)
			}
			n := int(number)
			limit = &n
		}
		reverse, _ := in["reverse"].(bool)
		return s.history(now, str("topic"), handle, since, limit, reverse), nil
	case "unsubscribe":
		return s.unsubscribe(now, str("topic"), handle), nil
	case "publish":
		out, _ := s.publish(now, &envelope{Action: actionPublish, Topic: str("topic"), Data: data()})
		return out, nil
	case "publish_to_id":
		out, _ := s.publish(now, &envelope{Action: actionDirectMessage, To: str("to"), Data: data()})
		return out, nil
	case "publish_to_server":
		secure, _ := in["secure"].(bool)
		out, _ := s.publish(now, &envelope{Action: actionPublishToServer, To: str("address"), Data: data(),
			Status: map[string]bool{"is_secure": secure}})
		return out, nil
	case "publish_with_ack", "publish_to_id_with_ack":
		frame := &envelope{Action: actionPublishWithAck, Topic: str("topic"), Data: data()}
		if in["type"] == "publish_to_id_with_ack" {
			frame = &envelope{Action: actionPublishToIDWithAck, To: str("to"), Data: data()}
		}
		timeout, _ := in["timeout"].(float64)
		_, out, _ := s.publishWithAck(now, frame, int64(timeout), handle)
		return out, nil
	case "cancel":
		return s.cancelAck(now, str("ack")), nil
	case "fetch_status":
		return s.fetchStatus(now, str("ack")), nil
	}
	return nil, fmt.Errorf("unknown trace input type %v", in["type"])
}

// tracePosition reads the since member of a subscribe or history input: {"offset", "epoch"},
// nil when absent.
func tracePosition(value any) (*StreamPosition, error) {
	if value == nil {
		return nil, nil
	}
	members, ok := value.(map[string]any)
	offset, isNumber := members["offset"].(float64)
	epoch, isString := members["epoch"].(string)
	if !ok || !isNumber || !isString {
		return nil, fmt.Errorf("since %v is not {offset, epoch}", value)
	}
	return &StreamPosition{Offset: int64(offset), Epoch: epoch}, nil
}

// deadlineField tells an absent deadline (not checked) from null (no timer).
type deadlineField struct {
	present bool
	at      *int64
	raw     string
}

func (d *deadlineField) UnmarshalJSON(raw []byte) error {
	d.present, d.raw = true, string(raw)
	return json.Unmarshal(raw, &d.at)
}

// sameJSON compares two values as JSON (numbers as float64, member order ignored).
func sameJSON(a, b any) bool {
	var x, y any
	ra, _ := json.Marshal(a)
	rb, _ := json.Marshal(b)
	_ = json.Unmarshal(ra, &x)
	_ = json.Unmarshal(rb, &y)
	return reflect.DeepEqual(x, y)
}

func compact(v any) string {
	raw, _ := json.Marshal(v)
	return string(raw)
}
