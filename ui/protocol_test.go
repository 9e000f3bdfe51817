package ui

import (
	"errors"
	"strings"
	"testing"
)

func TestDecodeFrame(t *testing.T) {
	tests := []struct {
		in   string
		want Intent
		code string
	}{
		{`{"type":"start","flow":"report_loss"}`, Intent{Type: TypeStart, Flow: "report_loss"}, ""},
		{`{"type":"input","field":"pin","value":"123456"}`, Intent{Type: TypeInput, Field: "pin", Value: "123456"}, ""},
		{`{"type":"input","field":"pin","value":""}`, Intent{Type: TypeInput, Field: "pin"}, ""},
		{` {"type":"confirm","extra":[1,2]} `, Intent{Type: TypeConfirm}, ""},
		{`{"type":"back"}`, Intent{Type: TypeBack}, ""},
		{`{"type":"cancel"}`, Intent{Type: TypeCancel}, ""},
		{`{"type":"lang","code":"vi"}`, Intent{Type: TypeLang, Code: "vi"}, ""},
		{`{"type":"ping"}`, Intent{Type: TypePing}, ""},
		{`{"type":"speech","value":"on"}`, Intent{Type: TypeSpeech, Value: "on"}, ""},
		{`{"type":"speech","value":"off"}`, Intent{Type: TypeSpeech, Value: "off"}, ""},
		{`{"type":"speech"}`, Intent{}, CodeMalformed},
		{`{"type":"speech","value":"loud"}`, Intent{}, CodeMalformed},
		{`{"type":"teleport"}`, Intent{}, CodeUnknownType},
		{`{"type":"screen","name":"done"}`, Intent{}, CodeUnknownType},
		{`{}`, Intent{}, CodeMalformed},
		{`{"type":5}`, Intent{}, CodeMalformed},
		{`{"type":"start"}`, Intent{}, CodeMalformed},
		{`{"type":"input","value":"x"}`, Intent{}, CodeMalformed},
		{`{"type":"input","field":"pin","value":` + `"` + strings.Repeat("9", 300) + `"}`, Intent{}, CodeMalformed},
		{`{"type":"lang"}`, Intent{}, CodeMalformed},
		{`{"type":"confirm"}{"type":"cancel"}`, Intent{}, CodeMalformed},
		{`{"type":"confirm"`, Intent{}, CodeMalformed},
		{`["confirm"]`, Intent{}, CodeMalformed},
		{`null`, Intent{}, CodeMalformed},
		{``, Intent{}, CodeMalformed},
		{"{\"type\":\"confirm\xff\"}", Intent{}, CodeMalformed},
		{strings.Repeat(" ", MaxFrame+1), Intent{}, CodeTooLarge},
	}
	for _, tt := range tests {
		got, err := DecodeFrame([]byte(tt.in))
		if tt.code == "" {
			if err != nil || got != tt.want {
				t.Errorf("DecodeFrame(%.40q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
			}
			continue
		}
		var e *Error
		if !errors.As(err, &e) || e.Code != tt.code {
			t.Errorf("DecodeFrame(%.40q) error %v, want code %s", tt.in, err, tt.code)
			continue
		}
		if e.Message == "" {
			t.Errorf("DecodeFrame(%.40q): empty message", tt.in)
		}
	}
}

func TestDecodeFrameDoesNotEchoInput(t *testing.T) {
	secret := "110101199003071233"
	for _, in := range []string{`{"type":"` + secret + `"}`, `{"type":"input","field":"pin","value":` + secret + `}`, `{"type":"input","field":"` + secret + `"`} {
		_, err := DecodeFrame([]byte(in))
		if err == nil || strings.Contains(err.Error(), secret) {
			t.Errorf("error %v for %q echoes the input", err, in)
		}
	}
}

func FuzzDecodeFrame(f *testing.F) {
	for _, s := range []string{
		`{"type":"start","flow":"report_loss"}`, `{"type":"input","field":"pin","value":"123456"}`,
		`{"type":"lang","code":"zh-CN"}`, `{"type":"ping"}`, `{"type":"confirm"}`, `{`, `[]`, `{"type":null}`,
		`{"type":"input","field":"x","value":"\u0000"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		in, err := DecodeFrame(b)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.Code == "" || e.Message == "" {
				t.Fatalf("error %v is not a coded *Error", err)
			}
			if in != (Intent{}) {
				t.Fatalf("error with a non-zero intent %+v", in)
			}
			return
		}
		switch in.Type {
		case TypeStart, TypeInput, TypeConfirm, TypeBack, TypeCancel, TypeLang, TypePing:
		default:
			t.Fatalf("accepted type %q", in.Type)
		}
		if len(in.Value) > maxValue || len(in.Field) > maxName || len(in.Flow) > maxName || len(in.Code) > maxName {
			t.Fatalf("accepted oversize field %+v", in)
		}
	})
}
