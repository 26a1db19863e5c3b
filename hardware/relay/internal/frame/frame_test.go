package frame

import (
	"bytes"
	"testing"
	"time"
)

func TestLCUS(t *testing.T) {
	tests := []struct {
		channel byte
		on      bool
		want    []byte
	}{
		// The on/off pair printed in LCUS board manuals.
		{1, true, []byte{0xA0, 0x01, 0x01, 0xA2}},
		{1, false, []byte{0xA0, 0x01, 0x00, 0xA1}},
		{2, true, []byte{0xA0, 0x02, 0x01, 0xA3}},
		{2, false, []byte{0xA0, 0x02, 0x00, 0xA2}},
		{4, true, []byte{0xA0, 0x04, 0x01, 0xA5}},
		// The checksum wraps modulo 256.
		{0x60, true, []byte{0xA0, 0x60, 0x01, 0x01}},
	}
	for _, tt := range tests {
		got := LCUS(tt.channel, tt.on)
		if !bytes.Equal(got, tt.want) {
			t.Errorf("LCUS(%d, %v) = % X; want % X", tt.channel, tt.on, got, tt.want)
		}
		ch, on, ok := ParseLCUS(got)
		if !ok || ch != tt.channel || on != tt.on {
			t.Errorf("ParseLCUS(% X) = %d, %v, %v; want %d, %v, true", got, ch, on, ok, tt.channel, tt.on)
		}
	}
}

func TestParseLCUSRejects(t *testing.T) {
	for _, b := range [][]byte{
		{0xA0, 0x01, 0x01},       // short
		{0xA0, 0x01, 0x01, 0xA3}, // bad checksum
		{0xA1, 0x01, 0x01, 0xA3}, // bad start byte
		{0xA0, 0x01, 0x02, 0xA3}, // state is neither 0 nor 1
	} {
		if _, _, ok := ParseLCUS(b); ok {
			t.Errorf("ParseLCUS(% X) ok; want rejected", b)
		}
	}
}

func TestWriteCoil(t *testing.T) {
	tests := []struct {
		c    Coil
		want []byte
	}{
		// Relay 1 on at device 1, the frame relay board manuals print.
		{Coil{Addr: 1, Coil: 0, On: true}, []byte{0x01, 0x05, 0x00, 0x00, 0xFF, 0x00, 0x8C, 0x3A}},
		// The classic FC05 tutorial example: coil 173 (address 0x00AC) on
		// at device 17.
		{Coil{Addr: 0x11, Coil: 0xAC, On: true}, []byte{0x11, 0x05, 0x00, 0xAC, 0xFF, 0x00, 0x4E, 0x8B}},
		{Coil{Addr: 1, Coil: 0, On: false}, []byte{0x01, 0x05, 0x00, 0x00, 0x00, 0x00, 0xCD, 0xCA}},
		{Coil{Addr: 1, Coil: 1, On: true}, []byte{0x01, 0x05, 0x00, 0x01, 0xFF, 0x00, 0xDD, 0xFA}},
		{Coil{Addr: 1, Coil: 1, On: false}, []byte{0x01, 0x05, 0x00, 0x01, 0x00, 0x00, 0x9C, 0x0A}},
	}
	for _, tt := range tests {
		got := WriteCoil(tt.c)
		if !bytes.Equal(got, tt.want) {
			t.Errorf("WriteCoil(%+v) = % X; want % X", tt.c, got, tt.want)
		}
		back, err := ParseWriteCoil(got)
		if err != nil || back != tt.c {
			t.Errorf("ParseWriteCoil(% X) = %+v, %v; want %+v", got, back, err, tt.c)
		}
	}
}

func TestParseWriteCoilRejects(t *testing.T) {
	for _, b := range [][]byte{
		{0x01, 0x05, 0x00, 0x00, 0xFF, 0x00, 0x8C},       // short
		{0x01, 0x05, 0x00, 0x00, 0xFF, 0x00, 0x8C, 0x3B}, // bad CRC
		AppendCRC([]byte{0x01, 0x06, 0x00, 0x00, 0xFF, 0x00}),
		AppendCRC([]byte{0x01, 0x05, 0x00, 0x00, 0x12, 0x34}),
	} {
		if c, err := ParseWriteCoil(b); err == nil {
			t.Errorf("ParseWriteCoil(% X) = %+v; want an error", b, c)
		}
	}
}

func TestException(t *testing.T) {
	tests := []struct {
		addr, fn, code byte
		want           []byte
	}{
		// Exception example printed in a Bender ISOMETER Modbus manual.
		{3, 0x03, 4, []byte{0x03, 0x83, 0x04, 0xE1, 0x33}},
		{1, FuncWriteCoil, 2, []byte{0x01, 0x85, 0x02, 0xC3, 0x51}},
	}
	for _, tt := range tests {
		got := Exception(tt.addr, tt.fn, tt.code)
		if !bytes.Equal(got, tt.want) {
			t.Errorf("Exception(%d, %d, %d) = % X; want % X", tt.addr, tt.fn, tt.code, got, tt.want)
		}
		if !CheckCRC(got) {
			t.Errorf("CheckCRC(% X) = false; want true", got)
		}
	}
}

func TestFlash(t *testing.T) {
	tests := []struct {
		c    FlashCmd
		want []byte
		back time.Duration
	}{
		// "Relay 0 flash on, 700 ms", as Waveshare's Modbus RTU Relay
		// manual prints it.
		{FlashCmd{Addr: 1, Relay: 0, For: 700 * time.Millisecond}, []byte{0x01, 0x05, 0x02, 0x00, 0x00, 0x07, 0x8D, 0xB0}, 700 * time.Millisecond},
		{FlashCmd{Addr: 1, Relay: 1, For: 700 * time.Millisecond}, []byte{0x01, 0x05, 0x02, 0x01, 0x00, 0x07, 0xDC, 0x70}, 700 * time.Millisecond},
		// Rounded up to whole tenths of a second, never none.
		{FlashCmd{Addr: 1, Relay: 0, For: 250 * time.Millisecond}, AppendCRC([]byte{0x01, 0x05, 0x02, 0x00, 0x00, 0x03}), 300 * time.Millisecond},
		{FlashCmd{Addr: 1, Relay: 0, For: 0}, AppendCRC([]byte{0x01, 0x05, 0x02, 0x00, 0x00, 0x01}), 100 * time.Millisecond},
	}
	for _, tt := range tests {
		got := Flash(tt.c)
		if !bytes.Equal(got, tt.want) {
			t.Errorf("Flash(%+v) = % X; want % X", tt.c, got, tt.want)
		}
		back, err := ParseFlash(got)
		if err != nil || back.Addr != tt.c.Addr || back.Relay != tt.c.Relay || back.For != tt.back {
			t.Errorf("ParseFlash(% X) = %+v, %v; want relay %d for %v", got, back, err, tt.c.Relay, tt.back)
		}
		if _, err := ParseWriteCoil(got); err == nil {
			t.Errorf("ParseWriteCoil(% X) took a flash request for a plain write", got)
		}
	}
	if _, err := ParseFlash(WriteCoil(Coil{Addr: 1, Coil: 0, On: true})); err == nil {
		t.Error("ParseFlash took a plain write for a flash request")
	}
}
