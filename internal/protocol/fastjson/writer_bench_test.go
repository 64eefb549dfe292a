package fastjson

import "testing"

// BenchmarkAppendString is the per-field cost of every JSON header the
// broker writes (a send response has about sixteen strings).
func BenchmarkAppendString(b *testing.B) {
	for _, s := range []string{"7F000001000026A5000000000000A1B2", "DefaultRegion", "serializeTypeCurrentRPC", "UNIQ_KEY\x01AB\x02"} {
		b.Run(s[:4], func(b *testing.B) {
			buf := make([]byte, 0, 128)
			for b.Loop() {
				buf = AppendString(buf[:0], s)
			}
		})
	}
}
