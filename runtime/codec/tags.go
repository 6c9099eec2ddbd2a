package codec

// Type descriptor tags; see doc.go for the wire format.
const (
	tagNil        byte = 0x00
	tagBool       byte = 0x01
	tagInt        byte = 0x02
	tagInt8       byte = 0x03
	tagInt16      byte = 0x04
	tagInt32      byte = 0x05
	tagInt64      byte = 0x06
	tagUint       byte = 0x07
	tagUint8      byte = 0x08
	tagUint16     byte = 0x09
	tagUint32     byte = 0x0a
	tagUint64     byte = 0x0b
	tagFloat32    byte = 0x0c
	tagFloat64    byte = 0x0d
	tagComplex64  byte = 0x0e
	tagComplex128 byte = 0x0f
	tagString     byte = 0x10
	tagBytes      byte = 0x11
	tagTime       byte = 0x12
	tagDuration   byte = 0x13
	tagSlice      byte = 0x20
	tagArray      byte = 0x21
	tagMap        byte = 0x22
	tagPtr        byte = 0x23
	tagIface      byte = 0x24
	tagNamed      byte = 0x25
	tagStruct     byte = 0x26
	tagRef        byte = 0x27
)

// isPrim reports whether tag is a leaf descriptor of one byte.
func isPrim(tag byte) bool { return tag <= tagDuration }
