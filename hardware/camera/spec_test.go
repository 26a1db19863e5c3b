package camera

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	dir := t.TempDir()
	video := filepath.Join(dir, "lane.avi")
	if err := os.WriteFile(video, []byte("not really"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		spec     string
		kind     Kind
		index    int
		name     string
		bad      bool
		noSecret string // must not appear in the name or the error
	}{
		{spec: "0", kind: KindDevice, index: 0, name: "0"},
		{spec: "12", kind: KindDevice, index: 12, name: "12"},
		{spec: "/dev/video0", kind: KindDevice, index: -1, name: "/dev/video0"},
		{spec: "/dev/v4l/by-id/usb-cam-video-index0", kind: KindDevice, index: -1, name: "/dev/v4l/by-id/usb-cam-video-index0"},
		{spec: "rtsp://admin:hunter2@192.0.2.10:554/Streaming/Channels/101", kind: KindStream, index: -1,
			name: "rtsp://admin:xxxxx@192.0.2.10:554/Streaming/Channels/101", noSecret: "hunter2"},
		{spec: "http://192.0.2.11/video.cgi?user=admin&password=hunter2", kind: KindStream, index: -1,
			name: "http://192.0.2.11/video.cgi?password=xxxxx&user=admin", noSecret: "hunter2"},
		{spec: "HTTP://cam.local/mjpg", kind: KindStream, index: -1, name: "http://cam.local/mjpg"},
		{spec: dir, kind: KindFolder, index: -1, name: dir},
		{spec: video, kind: KindFile, index: -1, name: video},
		{spec: "", bad: true},
		{spec: "ftp://admin:hunter2@cam/x", bad: true, noSecret: "hunter2"},
		{spec: "rtsp://admin:hunter2@/x", bad: true, noSecret: "hunter2"},
		{spec: "rtsp://admin:hunter2@cam:bad port/x", bad: true, noSecret: "hunter2"},
		{spec: filepath.Join(dir, "missing.avi"), bad: true},
		{spec: "99999999999999999999999", bad: true},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			sp, err := parseSpec(tt.spec)
			if tt.bad {
				if !errors.Is(err, ErrBadSpec) {
					t.Fatalf("parseSpec = %+v, %v; want ErrBadSpec", sp, err)
				}
				if tt.noSecret != "" && strings.Contains(err.Error(), tt.noSecret) {
					t.Errorf("error %q shows the password", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("parseSpec = %v", err)
			}
			if sp.kind != tt.kind || sp.index != tt.index || sp.name != tt.name || sp.target != tt.spec {
				t.Errorf("parseSpec = {kind %s, index %d, name %q, target %q}; want {%s, %d, %q, %q}",
					sp.kind, sp.index, sp.name, sp.target, tt.kind, tt.index, tt.name, tt.spec)
			}
		})
	}
}
