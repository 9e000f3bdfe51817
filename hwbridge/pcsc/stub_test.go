//go:build !pcsc

package pcsc

import (
	"context"
	"errors"
	"testing"

	"github.com/kioskd/kioskd/hwbridge"
)

func TestWithoutPCSCSupportSaysSo(t *testing.T) {
	s := New(Config{Slots: map[hwbridge.Slot][]string{hwbridge.SlotSS: {"x"}}}, nil)
	if err := s.Run(context.Background()); !errors.Is(err, ErrNotBuilt) {
		t.Errorf("Run = %v, want ErrNotBuilt", err)
	}
	if _, err := s.Connect(context.Background(), hwbridge.SlotSS); !errors.Is(err, ErrNotBuilt) {
		t.Errorf("Connect = %v, want ErrNotBuilt", err)
	}
	if rs := s.Readers(); len(rs) != 1 || rs[0].Present {
		t.Errorf("Readers = %+v", rs)
	}
	if _, open := <-s.Events(); open {
		t.Error("Events still open after Run returned")
	}
	if Built {
		t.Error("Built is true in a build without the pcsc tag")
	}
}
