package speech

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/kioskd/kioskd/ui"
)

// BenchmarkSpeech reports the synthesis of one prompt (p50 of 20 runs of
// espeak-ng on a screen title, in each language) and the whole cache built
// from empty: every citizen prompt in three languages, and its size.
func BenchmarkSpeech(b *testing.B) {
	needEspeak(b)
	for range b.N {
		s, err := New(Config{Dir: b.TempDir()}, ui.StaticFS())
		if err != nil {
			b.Fatal(err)
		}
		var ms []float64
		for i := range 20 {
			lang := ui.DefaultLanguages[i%3]
			text, _ := s.Text(lang, "menu.title", "")
			t0 := time.Now()
			if _, err := s.Render(context.Background(), lang, text); err != nil {
				b.Fatal(err)
			}
			ms = append(ms, float64(time.Since(t0).Microseconds())/1000)
		}
		slices.Sort(ms)
		st, err := s.BuildCache(context.Background())
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(ms[len(ms)/2], "speech_synth_ms_p50:ms")
		b.ReportMetric(st.Duration.Seconds(), "speech_cache_build_s:s")
		b.ReportMetric(float64(st.Bytes)/1e6, "speech_cache_mb:MB")
		b.ReportMetric(float64(st.Prompts), "speech_cache_prompts:prompts")
	}
}
