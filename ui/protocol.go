package ui

import (
	"bytes"
	"encoding/json"
	"fmt"
	"unicode/utf8"
)

// Page → daemon message types (PROTOCOL.md).
const (
	TypeStart   = "start"
	TypeInput   = "input"
	TypeConfirm = "confirm"
	TypeBack    = "back"
	TypeCancel  = "cancel"
	TypeLang    = "lang"
	TypePing    = "ping"
	// TypeSpeech turns speech mode on (value "on") or off ("off") for the
	// session: the daemon gives a speech-mode session longer timeouts and
	// marks its screens with data.speech; from idle, "on" starts a session.
	TypeSpeech = "speech"
	// TypeLargeText turns large-text mode on ("on") or off ("off"): text
	// and touch targets at least 1.5 times larger, kept until the session
	// ends (ui/PROTOCOL.md).
	TypeLargeText = "large_text"
)

// Daemon → page message types (PROTOCOL.md).
const (
	TypeHello  = "hello"
	TypeScreen = "screen"
	TypeDevice = "device"
	TypeError  = "error"
)

// MaxFrame is the largest frame a page may send; bigger ones close the
// connection.
const MaxFrame = 64 << 10

// Limits on the fields of an intent: nothing a citizen types is longer.
const (
	maxValue = 256
	maxName  = 32
)

// Intent is one message from the page. Only the fields of its Type are set.
type Intent struct {
	Type  string `json:"type"`
	Flow  string `json:"flow,omitempty"`  // start
	Field string `json:"field,omitempty"` // input
	Value string `json:"value,omitempty"` // input, speech
	Code  string `json:"code,omitempty"`  // lang
}

// Error is an `error` frame's content, and the error type a Driver returns
// to have its code shown to the page. Message is for people and must carry
// no personal data.
type Error struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Error codes of the endpoint itself.
const (
	CodeMalformed   = "malformed"
	CodeUnknownType = "unknown_type"
	CodeTooLarge    = "too_large"
	CodeRateLimited = "rate_limited"
	CodeTakenOver   = "taken_over"
	CodeInternal    = "internal"
)

// DecodeFrame parses and checks one text frame from the page. Errors are
// *Error with code CodeMalformed, CodeUnknownType or CodeTooLarge and a
// message naming what is wrong.
func DecodeFrame(b []byte) (Intent, error) {
	var in Intent
	if len(b) > MaxFrame {
		return in, &Error{CodeTooLarge, fmt.Sprintf("frame of %d bytes exceeds %d", len(b), MaxFrame)}
	}
	if !utf8.Valid(b) {
		return in, &Error{CodeMalformed, "frame is not UTF-8 text"}
	}
	trimmed := bytes.TrimSpace(b)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return in, &Error{CodeMalformed, "frame is not a JSON object"}
	}
	dec := json.NewDecoder(bytes.NewReader(trimmed))
	if err := dec.Decode(&in); err != nil {
		return Intent{}, &Error{CodeMalformed, "invalid JSON: " + jsonProblem(err)}
	}
	if dec.More() {
		return Intent{}, &Error{CodeMalformed, "more than one JSON value in the frame"}
	}
	bad := func(msg string) (Intent, error) { return Intent{}, &Error{CodeMalformed, msg} }
	switch in.Type {
	case TypeStart:
		if in.Flow == "" || len(in.Flow) > maxName {
			return bad("start needs a flow name of 1 to 32 bytes")
		}
	case TypeInput:
		if in.Field == "" || len(in.Field) > maxName {
			return bad("input needs a field name of 1 to 32 bytes")
		}
		if len(in.Value) > maxValue {
			return bad(fmt.Sprintf("input value longer than %d bytes", maxValue))
		}
	case TypeLang:
		if in.Code == "" || len(in.Code) > maxName {
			return bad("lang needs a code of 1 to 32 bytes")
		}
	case TypeSpeech, TypeLargeText:
		if in.Value != "on" && in.Value != "off" {
			return bad(in.Type + " needs value \"on\" or \"off\"")
		}
	case TypeConfirm, TypeBack, TypeCancel, TypePing:
	case "":
		return bad("frame has no type")
	default:
		return Intent{}, &Error{CodeUnknownType, "unknown message type"}
	}
	return in, nil
}

// jsonProblem describes a decoding error without echoing the input.
func jsonProblem(err error) string {
	switch e := err.(type) {
	case *json.SyntaxError:
		return fmt.Sprintf("syntax error at byte %d", e.Offset)
	case *json.UnmarshalTypeError:
		return fmt.Sprintf("field %q must be a %s", e.Field, e.Type)
	}
	return "cannot decode"
}

// Screen is the whole screen the page renders. Session is the id of the
// citizen session it belongs to ("" when idle); it goes in `hello`, not in
// the `screen` frame.
type Screen struct {
	Name    string         `json:"name"`
	Data    map[string]any `json:"data"`
	Session string         `json:"-"`
}

// Row is one line of a screen's `rows`: its label's catalogue key and its
// value, itself a catalogue key when T.
type Row struct {
	Label string `json:"label"`
	Value string `json:"value"`
	T     bool   `json:"t,omitempty"`
}

// Option is one choice of a screen's `options`: the value the page sends
// back with `input`, and its label's catalogue key.
type Option struct {
	Value string `json:"value"`
	Label string `json:"label"`
}

// Reader is one card reader as the page shows it.
type Reader struct {
	Slot    string `json:"slot"`
	Present bool   `json:"present"`
	Card    bool   `json:"card"`
}

// Device is the `device` frame: the readers and the printer's state
// ("ok", "paper_out", "paper_near_end", "cover_open", "offline", "unknown").
type Device struct {
	Readers []Reader `json:"readers"`
	Printer string   `json:"printer"`
}

type helloFrame struct {
	Type      string   `json:"type"`
	KioskID   string   `json:"kiosk_id"`
	Version   string   `json:"version"`
	Languages []string `json:"languages"`
	Session   string   `json:"session"`
	Speech    bool     `json:"speech"` // speech mode can be heard
}

type screenFrame struct {
	Type string         `json:"type"`
	Name string         `json:"name"`
	Data map[string]any `json:"data"`
}

type deviceFrame struct {
	Type string `json:"type"`
	Device
}

type errorFrame struct {
	Type string `json:"type"`
	Error
}
