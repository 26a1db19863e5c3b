package relay

import (
	"errors"
	"testing"

	"github.com/scenicgate/scenicgate/hardware/relay/internal/frame"
)

func TestCheckReply(t *testing.T) {
	req := frame.WriteCoil(frame.Coil{Addr: 1, Coil: 0, On: true})
	otherDevice := frame.WriteCoil(frame.Coil{Addr: 2, Coil: 0, On: true})
	damaged := append([]byte(nil), req...)
	damaged[4] = 0x00
	tests := []struct {
		name  string
		reply []byte
		check func(error) bool
	}{
		{"echo", req, func(err error) bool { return err == nil }},
		{"exception", frame.Exception(1, 0x05, 3), func(err error) bool {
			var exc *ExceptionError
			return errors.As(err, &exc) && *exc == ExceptionError{Addr: 1, Function: 0x05, Code: 3}
		}},
		{"bad CRC", damaged, func(err error) bool { return errors.Is(err, ErrBadCRC) }},
		{"another device", otherDevice, func(err error) bool { return errors.Is(err, ErrBadEcho) }},
		{"exception from another device", frame.Exception(2, 0x05, 2), func(err error) bool { return errors.Is(err, ErrBadEcho) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkReply(req, tt.reply)
			if !tt.check(err) {
				t.Errorf("checkReply(% X, % X) = %v", req, tt.reply, err)
			}
			if err != nil && !boardError(err) {
				t.Errorf("boardError(%v) = false; the port must stay open after a bad answer", err)
			}
		})
	}
}
