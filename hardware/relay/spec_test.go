package relay

import (
	"testing"
	"time"
)

func TestParseSpecDefaults(t *testing.T) {
	tests := []struct {
		in   string
		want spec
	}{
		{"log", spec{driver: "log"}},
		{"lcus:/dev/ttyUSB0", spec{driver: "lcus", port: "/dev/ttyUSB0", baud: 9600, channel: 1}},
		{"lcus:/dev/ttyUSB0?channel=4&baud=115200", spec{driver: "lcus", port: "/dev/ttyUSB0", baud: 115200, channel: 4}},
		{"modbus:/dev/ttyUSB0", spec{driver: "modbus", port: "/dev/ttyUSB0", baud: 9600, addr: 1, coil: 0, timeout: 500 * time.Millisecond}},
		{"modbus:/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0?addr=3&coil=7&baud=19200&timeout=250ms",
			spec{driver: "modbus", port: "/dev/serial/by-id/usb-1a86_USB_Serial-if00-port0", baud: 19200, addr: 3, coil: 7, timeout: 250 * time.Millisecond}},
	}
	for _, tt := range tests {
		got, err := parseSpec(tt.in)
		if err != nil || got != tt.want {
			t.Errorf("parseSpec(%q) = %+v, %v; want %+v", tt.in, got, err, tt.want)
		}
	}
}
