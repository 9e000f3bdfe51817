package card_test

import (
	"context"
	"errors"
	"testing"

	"github.com/kioskd/kioskd/hwbridge/card"
	"github.com/kioskd/kioskd/hwbridge/sim/cardsim"
)

// answers is a card that answers every command with sw, or fails.
type answers struct {
	sw   []byte
	fail bool
}

func (a answers) Transmit(context.Context, []byte) ([]byte, error) {
	if a.fail {
		return nil, errors.New("card removed")
	}
	return a.sw, nil
}
func (answers) ATR() []byte  { return []byte{0x3B, 0x00} }
func (answers) Close() error { return nil }

func TestIdentify(t *testing.T) {
	ctx := context.Background()
	for _, tt := range []struct{ profile, want string }{
		{"emrtd_vn.json", "emrtd"},
		{"emrtd_td3.json", "emrtd"},
		{"ss_zhangsan.json", "ss_card"},
	} {
		p, err := cardsim.LoadProfile("../sim/cardsim/testdata/" + tt.profile)
		if err != nil {
			t.Fatal(err)
		}
		sim, err := cardsim.New(p, cardsim.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if got, err := card.Identify(ctx, cardsim.Direct(sim)); err != nil || string(got) != tt.want {
			t.Errorf("%s: Identify = %q, %v; want %q", tt.profile, got, err, tt.want)
		}
	}
	for name, c := range map[string]answers{
		"file not found": {sw: []byte{0x6A, 0x82}},
		"no answer":      {fail: true},
		"short answer":   {sw: []byte{0x90}},
	} {
		if got, err := card.Identify(ctx, c); err != nil || got != card.Unknown {
			t.Errorf("%s: Identify = %q, %v; want unknown", name, got, err)
		}
	}
	done, cancel := context.WithCancel(ctx)
	cancel()
	if got, err := card.Identify(done, answers{sw: []byte{0x90, 0x00}}); !errors.Is(err, context.Canceled) || got != card.Unknown {
		t.Errorf("cancelled: Identify = %q, %v; want unknown, context.Canceled", got, err)
	}
}
