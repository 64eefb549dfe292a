package message

import "unicode/utf8"

// TagHash returns the tag code the consume queue stores for a message's
// TAGS: Java's String.hashCode(), i.e. h = 31*h + c over the UTF-16 code
// units of the string with int32 wraparound. Characters outside the Basic
// Multilingual Plane count as their two surrogates, which is why this
// cannot simply range over runes. The empty tag hashes to 0, the same code
// the broker uses for "no tag".
//
// Invalid UTF-8 is hashed as U+FFFD per bad byte; Java's decoder may group
// bad bytes differently, but well-formed tags (all real clients send
// well-formed UTF-8) hash identically.
func TagHash(tag string) int32 {
	var h int32
	for _, c := range tag {
		h = hashRune(h, c)
	}
	return h
}

func tagHashBytes(tag []byte) int32 {
	var h int32
	for len(tag) > 0 {
		c, n := utf8.DecodeRune(tag)
		tag = tag[n:]
		h = hashRune(h, c)
	}
	return h
}

func hashRune(h int32, c rune) int32 {
	if c >= 0x10000 {
		c -= 0x10000
		h = 31*h + int32(0xD800+(c>>10))
		return 31*h + int32(0xDC00+(c&0x3FF))
	}
	return 31*h + int32(c)
}
