package speech

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// WAV is what the header of a PCM WAV file says.
type WAV struct {
	Channels      int
	SampleRate    int
	BitsPerSample int
	DataBytes     int
}

// Duration is how long the samples play.
func (w WAV) Duration() time.Duration {
	perSec := w.SampleRate * w.Channels * w.BitsPerSample / 8
	if perSec == 0 {
		return 0
	}
	return time.Duration(float64(w.DataBytes) / float64(perSec) * float64(time.Second))
}

// ParseWAV reads a RIFF/WAVE header: the fmt chunk and the size of the data
// chunk, which must fit in b.
func ParseWAV(b []byte) (WAV, error) {
	var w WAV
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return w, errors.New("not a RIFF/WAVE file")
	}
	off := 12
	gotFmt := false
	for off+8 <= len(b) {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:off+8]))
		body := off + 8
		switch id {
		case "fmt ":
			if size < 16 || body+16 > len(b) {
				return w, errors.New("short fmt chunk")
			}
			if binary.LittleEndian.Uint16(b[body:]) != 1 {
				return w, errors.New("not PCM")
			}
			w.Channels = int(binary.LittleEndian.Uint16(b[body+2:]))
			w.SampleRate = int(binary.LittleEndian.Uint32(b[body+4:]))
			w.BitsPerSample = int(binary.LittleEndian.Uint16(b[body+14:]))
			gotFmt = true
		case "data":
			if !gotFmt {
				return w, errors.New("data chunk before fmt chunk")
			}
			if body+size > len(b) {
				return w, fmt.Errorf("data chunk of %d bytes, file holds %d", size, len(b)-body)
			}
			w.DataBytes = size
			return w, nil
		}
		off = body + size + size%2
	}
	return w, errors.New("no data chunk")
}

// FixHeader sets the RIFF and data sizes of a WAV written to a pipe, where
// espeak-ng cannot seek back and leaves them at their maximum, to the
// length actually written.
func FixHeader(b []byte) ([]byte, error) {
	if len(b) < 12 || string(b[0:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, errors.New("output is not a WAV file")
	}
	off := 12
	for off+8 <= len(b) {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:off+8]))
		if id == "data" {
			n := len(b) - off - 8
			if size < n {
				n = size
			}
			binary.LittleEndian.PutUint32(b[off+4:], uint32(n))
			b = b[:off+8+n]
			binary.LittleEndian.PutUint32(b[4:], uint32(len(b)-8))
			if _, err := ParseWAV(b); err != nil {
				return nil, err
			}
			return b, nil
		}
		off += 8 + size + size%2
	}
	return nil, errors.New("output has no data chunk")
}

// Tone is a short sine beep as a 16-bit mono WAV: what a typed PIN digit
// sounds like in speech mode, in place of the digit.
func Tone(hz float64, d time.Duration) []byte {
	const rate = 22050
	n := int(d.Seconds() * rate)
	b := make([]byte, 44+2*n)
	copy(b, "RIFF")
	binary.LittleEndian.PutUint32(b[4:], uint32(36+2*n))
	copy(b[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(b[16:], 16)
	binary.LittleEndian.PutUint16(b[20:], 1) // PCM
	binary.LittleEndian.PutUint16(b[22:], 1) // mono
	binary.LittleEndian.PutUint32(b[24:], rate)
	binary.LittleEndian.PutUint32(b[28:], rate*2)
	binary.LittleEndian.PutUint16(b[32:], 2)
	binary.LittleEndian.PutUint16(b[34:], 16)
	copy(b[36:], "data")
	binary.LittleEndian.PutUint32(b[40:], uint32(2*n))
	fade := rate / 200 // 5 ms in and out: no click
	for i := range n {
		a := 0.4
		if i < fade {
			a *= float64(i) / float64(fade)
		} else if n-i < fade {
			a *= float64(n-i) / float64(fade)
		}
		v := int16(a * 32767 * math.Sin(2*math.Pi*hz*float64(i)/rate))
		binary.LittleEndian.PutUint16(b[44+2*i:], uint16(v))
	}
	return b
}
