package message

import (
	"math"
	"testing"
)

func TestTagHash(t *testing.T) {
	cases := []struct {
		tag  string
		want int32
	}{
		{"", 0},
		{"TagA", 2598919}, // ((84*31+97)*31+103)*31+65
		{"TagB", 2598920},
		{"hello", 99162322},
		{"Aa", 2112}, // the classic collision pair
		{"BB", 2112},
		{"中文", 646394},                        // 0x4E2D*31 + 0x6587
		{"\U0001F600", 1772899},               // surrogates 0xD83D*31 + 0xDE00
		{"polygenelubricants", math.MinInt32}, // wraps to exactly Integer.MIN_VALUE
		{"a\U0001F600b", (97*31+0xD83D)*31*31 + 0xDE00*31 + 98},
	}
	for _, c := range cases {
		if got := TagHash(c.tag); got != c.want {
			t.Errorf("TagHash(%q) = %d, want %d", c.tag, got, c.want)
		}
		if got := tagHashBytes([]byte(c.tag)); got != c.want {
			t.Errorf("tagHashBytes(%q) = %d, want %d", c.tag, got, c.want)
		}
	}
	// Invalid UTF-8 is hashed identically by both paths.
	for _, s := range []string{"\xff", "a\xc3", "\xed\xa0\x80"} {
		if TagHash(s) != tagHashBytes([]byte(s)) {
			t.Errorf("string and bytes hashes differ for %q", s)
		}
	}
	m := Message{Properties: Properties{PropertyTags: "TagB"}}
	if m.TagHash() != 2598920 {
		t.Errorf("Message.TagHash = %d", m.TagHash())
	}
}
