// Package frame encodes and decodes the bytes that relay boards understand:
// the four-byte LCUS command and the Modbus RTU "write single coil" request
// with its CRC, including the "flash" form some boards take. The relay drivers and the relay simulator share it, so both
// ends of the wire agree by construction; the tests pin the bytes to frames
// published for real boards.
//
// All functions are pure and safe for concurrent use.
package frame

import (
	"encoding/binary"
	"fmt"
	"time"
)

// LCUS boards (CH340 USB relays) take A0 <channel> <state> <checksum>, where
// the checksum is the sum of the first three bytes modulo 256.
const (
	LCUSStart = 0xA0
	LCUSLen   = 4
)

// LCUS returns the command that switches an LCUS channel (1-based) on or off.
func LCUS(channel byte, on bool) []byte {
	state := byte(0)
	if on {
		state = 1
	}
	return []byte{LCUSStart, channel, state, LCUSStart + channel + state}
}

// ParseLCUS decodes one LCUS command from the start of b. ok is false when b
// is shorter than LCUSLen or its first LCUSLen bytes are not a valid command.
func ParseLCUS(b []byte) (channel byte, on bool, ok bool) {
	if len(b) < LCUSLen || b[0] != LCUSStart || b[2] > 1 {
		return 0, false, false
	}
	if b[0]+b[1]+b[2] != b[3] {
		return 0, false, false
	}
	return b[1], b[2] == 1, true
}

// Modbus RTU constants for the one request the relay drivers send.
const (
	FuncWriteCoil = 0x05
	// ExceptionFlag is set in the function byte of an exception response.
	ExceptionFlag = 0x80
	// WriteCoilLen is the length of a write-single-coil request and of its echo.
	WriteCoilLen = 8
	// ExceptionLen is the length of an exception response.
	ExceptionLen = 5

	coilOn  = 0xFF00
	coilOff = 0x0000
)

// CRC16 returns the CRC-16/MODBUS of b (polynomial 0xA001 reflected, initial
// value 0xFFFF). On the wire it travels low byte first.
func CRC16(b []byte) uint16 {
	crc := uint16(0xFFFF)
	for _, c := range b {
		crc ^= uint16(c)
		for range 8 {
			if crc&1 != 0 {
				crc = crc>>1 ^ 0xA001
			} else {
				crc >>= 1
			}
		}
	}
	return crc
}

// AppendCRC appends the CRC of b to b, low byte first.
func AppendCRC(b []byte) []byte {
	return binary.LittleEndian.AppendUint16(b, CRC16(b))
}

// CheckCRC reports whether the last two bytes of b are the CRC of the rest.
func CheckCRC(b []byte) bool {
	if len(b) < 3 {
		return false
	}
	n := len(b) - 2
	return binary.LittleEndian.Uint16(b[n:]) == CRC16(b[:n])
}

// Coil is one write-single-coil request: device address, 0-based coil address
// and the requested state.
type Coil struct {
	Addr byte
	Coil uint16
	On   bool
}

// WriteCoil returns the request that sets a coil, CRC included.
func WriteCoil(c Coil) []byte {
	value := uint16(coilOff)
	if c.On {
		value = coilOn
	}
	b := []byte{c.Addr, FuncWriteCoil}
	b = binary.BigEndian.AppendUint16(b, c.Coil)
	b = binary.BigEndian.AppendUint16(b, value)
	return AppendCRC(b)
}

// ParseWriteCoil decodes a write-single-coil request (or its echo) from the
// first WriteCoilLen bytes of b.
func ParseWriteCoil(b []byte) (Coil, error) {
	if len(b) < WriteCoilLen {
		return Coil{}, fmt.Errorf("frame: %d bytes, a write-coil frame has %d", len(b), WriteCoilLen)
	}
	b = b[:WriteCoilLen]
	if b[1] != FuncWriteCoil {
		return Coil{}, fmt.Errorf("frame: function 0x%02X, want 0x%02X", b[1], FuncWriteCoil)
	}
	if !CheckCRC(b) {
		return Coil{}, fmt.Errorf("frame: bad CRC in % X", b)
	}
	c := Coil{Addr: b[0], Coil: binary.BigEndian.Uint16(b[2:4])}
	switch v := binary.BigEndian.Uint16(b[4:6]); v {
	case coilOn:
		c.On = true
	case coilOff:
	default:
		return Coil{}, fmt.Errorf("frame: coil value 0x%04X, want 0xFF00 or 0x0000", v)
	}
	return c, nil
}

// Flash ("flash on", 闪开) is a write-single-coil request that boards such
// as Waveshare's Modbus RTU Relay take as "close relay N for a time, then
// open it by yourself": the coil address is FlashBase + N and the value the
// time in units of FlashUnit. The board echoes it like any write. Boards
// without the function refuse it with an exception (illegal data address)
// or ignore it, so it is used only when the spec asks for it.
const (
	FlashBase = 0x0200
	FlashUnit = 100 * time.Millisecond
	// FlashMaxRelay is the highest relay number a flash request can name.
	FlashMaxRelay = 0xFF
)

// FlashCmd is one flash request: device address, relay number (0-based, as
// the coil address) and how long the contact stays closed.
type FlashCmd struct {
	Addr  byte
	Relay byte
	For   time.Duration
}

// Flash returns the request that closes a relay for c.For, rounded up to
// whole FlashUnits (at least one, at most 65535), CRC included.
func Flash(c FlashCmd) []byte {
	units := (c.For + FlashUnit - 1) / FlashUnit
	units = max(1, min(units, 0xFFFF))
	b := []byte{c.Addr, FuncWriteCoil}
	b = binary.BigEndian.AppendUint16(b, FlashBase+uint16(c.Relay))
	b = binary.BigEndian.AppendUint16(b, uint16(units))
	return AppendCRC(b)
}

// ParseFlash decodes a flash request (or its echo) from the first
// WriteCoilLen bytes of b.
func ParseFlash(b []byte) (FlashCmd, error) {
	if len(b) < WriteCoilLen {
		return FlashCmd{}, fmt.Errorf("frame: %d bytes, a flash frame has %d", len(b), WriteCoilLen)
	}
	b = b[:WriteCoilLen]
	addr := binary.BigEndian.Uint16(b[2:4])
	switch {
	case b[1] != FuncWriteCoil:
		return FlashCmd{}, fmt.Errorf("frame: function 0x%02X, want 0x%02X", b[1], FuncWriteCoil)
	case !CheckCRC(b):
		return FlashCmd{}, fmt.Errorf("frame: bad CRC in % X", b)
	case addr&^FlashMaxRelay != FlashBase:
		return FlashCmd{}, fmt.Errorf("frame: address 0x%04X is not a flash address", addr)
	}
	units := binary.BigEndian.Uint16(b[4:6])
	if units == 0 {
		return FlashCmd{}, fmt.Errorf("frame: a flash of no time")
	}
	return FlashCmd{Addr: b[0], Relay: byte(addr), For: time.Duration(units) * FlashUnit}, nil
}

// Exception returns the exception response a device sends when it refuses a
// request with function fn: address, fn|0x80, code, CRC.
func Exception(addr, fn, code byte) []byte {
	return AppendCRC([]byte{addr, fn | ExceptionFlag, code})
}
