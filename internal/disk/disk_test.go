package disk

import "testing"

func TestFault(t *testing.T) {
	tests := []struct {
		free, total uint64
		want        string
	}{
		{free: 10 << 30, total: 100 << 30, want: ""},
		{free: 100 << 20, total: 100 << 30, want: ""}, // 64 MiB is enough on any disk
		{free: 10 << 20, total: 100 << 30, want: "disk: nearly full, 10.0 MiB free of 100.0 GiB (/d)"},
		{free: 200 << 10, total: 2 << 20, want: ""}, // a tenth of a small one
		{free: 50 << 10, total: 2 << 20, want: "disk: nearly full, 50 KiB free of 2.0 MiB (/d)"},
		{free: 0, total: 2 << 20, want: "disk: full (/d, 2.0 MiB)"},
	}
	for _, tt := range tests {
		if got := fault("/d", tt.free, tt.total); got != tt.want {
			t.Errorf("fault(%d free of %d) = %q; want %q", tt.free, tt.total, got, tt.want)
		}
	}
	if got := Fault(t.TempDir()); got != "" {
		t.Logf("the test machine's temporary folder: %s", got)
	}
}
