package message

import (
	"errors"
	"testing"
)

func TestSysFlag(t *testing.T) {
	var f SysFlag = SysMultiTags
	f = f.WithTransactionType(SysTransactionPrepared)
	if f.TransactionType() != SysTransactionPrepared || !f.Has(SysMultiTags) {
		t.Fatalf("prepared: %#x", f)
	}
	f = f.WithTransactionType(SysTransactionRollback)
	if f.TransactionType() != SysTransactionRollback || f != SysMultiTags|0xC {
		t.Fatalf("rollback: %#x", f)
	}
	if f.WithTransactionType(SysTransactionNotType) != SysMultiTags {
		t.Fatalf("clear transaction type")
	}

	cases := []struct {
		f    SysFlag
		want Compression
	}{
		{0, CompressionNone},
		{SysCompressionZSTD, CompressionNone}, // type bits without COMPRESSED mean nothing
		{SysCompressed, CompressionZLIB},      // legacy clients
		{SysCompressed | SysCompressionZLIB, CompressionZLIB},
		{SysCompressed | SysCompressionLZ4, CompressionLZ4},
		{SysCompressed | SysCompressionZSTD, CompressionZSTD},
	}
	for _, c := range cases {
		if got, err := c.f.Compression(); err != nil || got != c.want {
			t.Errorf("%#x.Compression() = %v, %v; want %v", c.f, got, err, c.want)
		}
	}
	if _, err := (SysCompressed | 0x400).Compression(); !errors.Is(err, ErrUnknownCompression) {
		t.Errorf("unknown compression accepted: %v", err)
	}
	for _, c := range []Compression{CompressionZLIB, CompressionLZ4, CompressionZSTD, CompressionNone} {
		g := (SysMultiTags | SysTransactionCommit | SysCompressed | SysCompressionLZ4).WithCompression(c)
		if got, _ := g.Compression(); got != c {
			t.Errorf("WithCompression(%v) -> %v", c, got)
		}
		if !g.Has(SysMultiTags|SysTransactionCommit) || (c == CompressionNone && g&0x701 != 0) {
			t.Errorf("WithCompression(%v) disturbed other bits: %#x", c, g)
		}
		_ = c.String()
	}
}
