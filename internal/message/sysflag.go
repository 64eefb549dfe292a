package message

import "fmt"

// SysFlag is the SYSFLAG word of a record and of the send header (`sysFlag`/`f`).
// It is a signed 32-bit value on the wire because Java stores it in an int.
type SysFlag int32

// SysFlag bits (MessageSysFlag). The transaction type and compression type are
// multi-bit fields; use the accessors instead of testing bits directly.
const (
	SysCompressed SysFlag = 0x1 // body is compressed (type in bits 8-10)
	SysMultiTags  SysFlag = 0x2 // topic uses the MULTI_TAG filter

	SysTransactionNotType  SysFlag = 0x0 // ordinary message
	SysTransactionPrepared SysFlag = 0x4 // half message
	SysTransactionCommit   SysFlag = 0x8 // commit record of a half message
	SysTransactionRollback SysFlag = 0xC // rollback record of a half message
	sysTransactionMask     SysFlag = 0xC

	SysBornHostV6  SysFlag = 0x10 // BORNHOST is 16 address bytes + port
	SysStoreHostV6 SysFlag = 0x20 // STOREHOST is 16 address bytes + port
	SysNeedUnwrap  SysFlag = 0x40 // inner batch that must be unwrapped on read
	SysInnerBatch  SysFlag = 0x80 // record holds an inner batch

	SysCompressionLZ4  SysFlag = 0x100
	SysCompressionZSTD SysFlag = 0x200
	SysCompressionZLIB SysFlag = 0x300
	sysCompressionMask SysFlag = 0x700
)

// Compression is the algorithm a compressed body uses.
type Compression uint8

const (
	CompressionNone Compression = iota
	CompressionZLIB             // zlib stream (Java Deflater), Go compress/zlib
	CompressionLZ4              // lz4-java frame format
	CompressionZSTD             // zstd frame
)

func (c Compression) String() string {
	switch c {
	case CompressionNone:
		return "none"
	case CompressionZLIB:
		return "zlib"
	case CompressionLZ4:
		return "lz4"
	case CompressionZSTD:
		return "zstd"
	}
	return fmt.Sprintf("Compression(%d)", uint8(c))
}

// Has reports whether all bits of b are set in f.
func (f SysFlag) Has(b SysFlag) bool { return f&b == b }

// TransactionType returns one of the SysTransaction* values.
func (f SysFlag) TransactionType() SysFlag { return f & sysTransactionMask }

// WithTransactionType replaces the transaction type bits with t (one of the
// SysTransaction* values; other bits of t are ignored).
func (f SysFlag) WithTransactionType(t SysFlag) SysFlag {
	return f&^sysTransactionMask | t&sysTransactionMask
}

// Compression reports how the body is compressed. Type bits 0 with the
// COMPRESSED bit set mean ZLIB: clients older than the multi-codec change
// only set bit 0 and always used zlib.
func (f SysFlag) Compression() (Compression, error) {
	if f&SysCompressed == 0 {
		return CompressionNone, nil
	}
	switch f & sysCompressionMask {
	case 0, SysCompressionZLIB:
		return CompressionZLIB, nil
	case SysCompressionLZ4:
		return CompressionLZ4, nil
	case SysCompressionZSTD:
		return CompressionZSTD, nil
	}
	return CompressionNone, fmt.Errorf("%w: sysFlag %#x", ErrUnknownCompression, int32(f))
}

// WithCompression sets the COMPRESSED bit and type bits for c, or clears both
// for CompressionNone (what a consumer does after decompressing).
func (f SysFlag) WithCompression(c Compression) SysFlag {
	f &^= SysCompressed | sysCompressionMask
	switch c {
	case CompressionZLIB:
		f |= SysCompressed | SysCompressionZLIB
	case CompressionLZ4:
		f |= SysCompressed | SysCompressionLZ4
	case CompressionZSTD:
		f |= SysCompressed | SysCompressionZSTD
	}
	return f
}
