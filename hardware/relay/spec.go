package relay

import (
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/scenicgate/scenicgate/hardware/relay/internal/frame"
)

// Defaults for the spec parameters.
const (
	DefaultBaud         = 9600
	DefaultReplyTimeout = 500 * time.Millisecond
)

// bauds are the rates USB serial adapters and relay boards commonly use.
var bauds = []int{1200, 2400, 4800, 9600, 19200, 38400, 57600, 115200}

// spec is a parsed --relay value.
type spec struct {
	driver  string // "lcus", "modbus" or "log"
	port    string
	baud    int
	channel byte          // lcus: 1-based channel
	addr    byte          // modbus: device address
	coil    uint16        // modbus: 0-based coil address
	timeout time.Duration // modbus: how long to wait for the echo
	flash   bool          // modbus: pulse with the board's flash command
}

const specHelp = "want lcus:<port>[?channel=N&baud=N], modbus:<port>[?addr=N&coil=N&baud=N&timeout=D&flash=1] or log"

// parseSpec parses "driver:port?key=value&..." as documented on Open.
func parseSpec(s string) (spec, error) {
	bad := func(format string, args ...any) (spec, error) {
		return spec{}, fmt.Errorf("%w %q: %s", ErrBadSpec, s, fmt.Sprintf(format, args...))
	}
	if s == "log" {
		return spec{driver: "log"}, nil
	}
	driver, rest, found := strings.Cut(s, ":")
	switch {
	case driver == "log":
		return bad("the log driver takes no port or parameters")
	case driver == "lcus" || driver == "modbus":
	case driver == "" || !found:
		return bad("no driver; %s", specHelp)
	default:
		return bad("unknown driver %q; %s", driver, specHelp)
	}
	port, query, _ := strings.Cut(rest, "?")
	if port == "" {
		return bad("%s needs a port, e.g. %s:/dev/ttyUSB0", driver, driver)
	}
	values, err := url.ParseQuery(query)
	if err != nil {
		return bad("parameters: %v", err)
	}
	p := params{values: values}
	sp := spec{driver: driver, port: port}
	if driver == "lcus" {
		err = p.only("channel", "baud")
		sp.channel = byte(p.int("channel", 1, 1, 255))
	} else {
		err = p.only("addr", "coil", "baud", "timeout", "flash")
		// Address 0 is broadcast: boards obey it but never answer, so the
		// echo check could never pass.
		sp.addr = byte(p.int("addr", 1, 1, 247))
		sp.coil = uint16(p.int("coil", 0, 0, 65535))
		sp.timeout = p.duration("timeout", DefaultReplyTimeout, 10*time.Millisecond, 10*time.Second)
		sp.flash = p.int("flash", 0, 0, 1) == 1
		if sp.flash && sp.coil > frame.FlashMaxRelay && p.err == nil {
			p.err = fmt.Errorf("flash names relays 0..%d; coil %d is beyond", frame.FlashMaxRelay, sp.coil)
		}
	}
	sp.baud = p.int("baud", DefaultBaud, 0, 1<<31-1)
	if p.err == nil && !slices.Contains(bauds, sp.baud) {
		p.err = fmt.Errorf("baud %d is not supported (want one of %v)", sp.baud, bauds)
	}
	if err == nil {
		err = p.err
	}
	if err != nil {
		return bad("%v", err)
	}
	return sp, nil
}

// params reads query parameters, keeping the first error.
type params struct {
	values url.Values
	err    error
}

// only fails on a parameter outside known, which is almost always a typo
// that would otherwise silently fall back to a default.
func (p *params) only(known ...string) error {
	for key := range p.values {
		if !slices.Contains(known, key) {
			return fmt.Errorf("unknown parameter %q (known: %s)", key, strings.Join(known, ", "))
		}
	}
	return nil
}

func (p *params) get(name string) (string, bool) {
	vs, ok := p.values[name]
	if !ok || p.err != nil {
		return "", false
	}
	if len(vs) > 1 {
		p.err = fmt.Errorf("parameter %q given %d times", name, len(vs))
		return "", false
	}
	return vs[0], true
}

func (p *params) int(name string, def, lo, hi int) int {
	v, ok := p.get(name)
	if !ok {
		return def
	}
	n, err := strconv.Atoi(v)
	switch {
	case err != nil:
		p.err = fmt.Errorf("%s %q is not a whole number", name, v)
	case n < lo || n > hi:
		p.err = fmt.Errorf("%s %d is out of range %d..%d", name, n, lo, hi)
	}
	return n
}

func (p *params) duration(name string, def, lo, hi time.Duration) time.Duration {
	v, ok := p.get(name)
	if !ok {
		return def
	}
	d, err := time.ParseDuration(v)
	switch {
	case err != nil:
		p.err = fmt.Errorf("%s %q is not a duration such as 500ms", name, v)
	case d < lo || d > hi:
		p.err = fmt.Errorf("%s %v is out of range %v..%v", name, d, lo, hi)
	}
	return d
}
