package camera

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// spec is a parsed --camera value.
type spec struct {
	kind   Kind
	index  int    // KindDevice opened by index; -1 otherwise
	target string // device path, URL, file or folder as given
	name   string // target for logs and status: the URL without secrets
}

// streamSchemes are the URL schemes handed to FFmpeg. Anything else is more
// likely a typo than a stream, and a typo should stop the gate at boot
// rather than be retried forever.
var streamSchemes = map[string]bool{
	"rtsp": true, "rtsps": true, "rtmp": true, "rtmps": true,
	"http": true, "https": true, "udp": true, "tcp": true, "srt": true,
}

func parseSpec(s string) (spec, error) {
	shown := s // what an error may quote; never a URL's password
	bad := func(format string, args ...any) (spec, error) {
		return spec{}, fmt.Errorf("%w %q: %s", ErrBadSpec, shown, fmt.Sprintf(format, args...))
	}
	switch {
	case s == "":
		return bad("empty")
	case isDigits(s):
		n, err := strconv.Atoi(s)
		if err != nil {
			return bad("device index out of range")
		}
		return spec{kind: KindDevice, index: n, target: s, name: s}, nil
	case strings.Contains(s, "://"):
		u, err := url.Parse(s)
		if err != nil {
			// url.Parse's error quotes the whole URL, password included.
			shown = "URL"
			return bad("not a valid URL")
		}
		shown = redact(u)
		if !streamSchemes[strings.ToLower(u.Scheme)] {
			return bad("unsupported scheme %q", u.Scheme)
		}
		if u.Host == "" {
			return bad("URL without a host")
		}
		return spec{kind: KindStream, index: -1, target: s, name: redact(u)}, nil
	case strings.HasPrefix(s, "/dev/"):
		// A camera may be unplugged at boot, so its path need not exist yet.
		return spec{kind: KindDevice, index: -1, target: s, name: s}, nil
	}
	fi, err := os.Stat(s)
	if err != nil {
		return bad("%v", err)
	}
	if fi.IsDir() {
		return spec{kind: KindFolder, index: -1, target: s, name: s}, nil
	}
	if !fi.Mode().IsRegular() {
		return bad("neither a video file nor a folder")
	}
	return spec{kind: KindFile, index: -1, target: s, name: s}, nil
}

func isDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

// secretParams are query parameters in which some IP cameras take
// credentials (e.g. ?user=admin&password=...).
var secretParams = []string{"password", "passwd", "pass", "pwd", "token", "key", "secret", "auth"}

// redact returns u for logs and the status page: the password in its user
// info and the values of secret-looking query parameters are replaced.
func redact(u *url.URL) string {
	c := *u
	if c.RawQuery != "" {
		q := c.Query()
		changed := false
		for name := range q {
			for _, secret := range secretParams {
				if strings.EqualFold(name, secret) {
					q[name] = []string{"xxxxx"}
					changed = true
				}
			}
		}
		if changed {
			c.RawQuery = q.Encode()
		}
	}
	return c.Redacted()
}
