package message

import (
	"errors"
	"reflect"
	"strings"
	"testing"
)

func TestParseProperties(t *testing.T) {
	cases := []struct {
		in   string
		want Properties
	}{
		{"", nil},
		{"\x02\x02\x02", nil},
		{"a\x01b\x02", Properties{"a": "b"}},
		{"a\x01b", Properties{"a": "b"}}, // last pair without terminator
		{"KEYS\x01k1 k2\x02TAGS\x01TagA\x02", Properties{"KEYS": "k1 k2", "TAGS": "TagA"}},
		{"\x01ab\x02c\x01d\x02", Properties{"c": "d"}}, // empty name skipped
		{"ab\x01\x02c\x01d\x02", Properties{"c": "d"}}, // empty value skipped
		{"a\x01\x02", nil},                                 // segment shorter than 3
		{"abc\x02c\x01d\x02", Properties{"c": "d"}},        // no separator
		{"a\x01b\x01c\x02", Properties{"a": "b\x01c"}},     // value keeps later \x01
		{"a\x011\x02a\x012\x02", Properties{"a": "2"}},     // last wins
		{"a\x01b\x02garbage", Properties{"a": "b"}},        // trailing junk
		{"\x01\x01\x01\x02x\x01y", Properties{"x": "y"}},   // separator at position 0
		{"键\x01值\x02", Properties{"键": "值"}},               // UTF-8
		{"a\x01\xff\xfe\x02", Properties{"a": "\xff\xfe"}}, // bytes pass through
		{"\x02a\x01b\x02\x02c\x01d", Properties{"a": "b", "c": "d"}},
	}
	for _, c := range cases {
		got := ParseProperties(c.in)
		if !reflect.DeepEqual(got, c.want) {
			t.Errorf("ParseProperties(%q) = %q, want %q", c.in, got, c.want)
		}
		if got2 := ParsePropertiesBytes([]byte(c.in)); !reflect.DeepEqual(got2, c.want) {
			t.Errorf("ParsePropertiesBytes(%q) = %q", c.in, got2)
		}
		for k, v := range c.want {
			if lv, ok := LookupProperty([]byte(c.in), k); !ok || string(lv) != v {
				t.Errorf("LookupProperty(%q, %q) = %q, %v; want %q", c.in, k, lv, ok, v)
			}
		}
	}
	if _, ok := LookupProperty([]byte("ab\x01\x02"), "ab"); ok {
		t.Errorf("LookupProperty found an empty value")
	}
}

func TestEncodeProperties(t *testing.T) {
	p := Properties{"TAGS": "TagA", "KEYS": "k1", "UNIQ_KEY": "X", "EMPTY": ""}
	got, err := p.Encode()
	if err != nil {
		t.Fatal(err)
	}
	// Sorted by name, every pair terminated, empty value dropped.
	if want := "KEYS\x01k1\x02TAGS\x01TagA\x02UNIQ_KEY\x01X\x02"; got != want {
		t.Fatalf("Encode = %q, want %q", got, want)
	}
	if p.EncodedLen() != len(got) {
		t.Fatalf("EncodedLen = %d, want %d", p.EncodedLen(), len(got))
	}
	delete(p, "EMPTY")
	if !reflect.DeepEqual(ParseProperties(got), p) {
		t.Fatalf("round trip lost data")
	}
	var empty Properties
	if s, err := empty.Encode(); s != "" || err != nil {
		t.Fatalf("empty Encode = %q, %v", s, err)
	}
	for _, bad := range []Properties{{"": "v"}, {"a\x02": "v"}, {"a\x01": "v"}, {"a": "x\x02y"}} {
		if _, err := bad.AppendTo(nil); !errors.Is(err, ErrInvalidProperty) {
			t.Errorf("AppendTo(%q) err = %v", bad, err)
		}
	}
	big := Properties{"k": strings.Repeat("v", MaxPropertiesLength)}
	if _, err := big.Encode(); !errors.Is(err, ErrPropertiesTooLong) {
		t.Fatalf("oversized: %v", err)
	}
}

func TestPropertiesHelpers(t *testing.T) {
	var p Properties
	p.Set(PropertyKeys, "  order-1  order-2 ")
	p.Set(PropertyTags, "TagA")
	if got := p.Keys(); !reflect.DeepEqual(got, []string{"order-1", "order-2"}) {
		t.Fatalf("Keys = %q", got)
	}
	if p.Tags() != "TagA" || p.Get("missing") != "" {
		t.Fatalf("Tags/Get wrong")
	}
	if _, ok := p.Lookup("missing"); ok {
		t.Fatalf("Lookup found missing")
	}
	c := p.Clone()
	c.Delete(PropertyTags)
	if p.Tags() != "TagA" {
		t.Fatalf("Clone is not independent")
	}
	if SplitKeys("") != nil || SplitKeys("   ") != nil {
		t.Fatalf("SplitKeys of blanks not empty")
	}
	b, err := AppendProperty([]byte("a\x01b\x02"), PropertyCluster, "C")
	if err != nil || string(b) != "a\x01b\x02CLUSTER\x01C\x02" {
		t.Fatalf("AppendProperty = %q, %v", b, err)
	}
	if _, err := AppendProperty(nil, "x", "a\x02"); !errors.Is(err, ErrInvalidProperty) {
		t.Fatalf("AppendProperty accepted a separator")
	}
	var m Message
	m.SetProperty(PropertyUniqKey, "U")
	if m.UniqKey() != "U" || m.Property(PropertyUniqKey) != "U" {
		t.Fatalf("Message property helpers wrong")
	}
}
