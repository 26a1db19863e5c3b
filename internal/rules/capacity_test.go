package rules_test

import (
	"testing"

	"github.com/scenicgate/scenicgate/internal/rules"
)

func TestCheckCapacity(t *testing.T) {
	tests := []struct {
		inPark, instantCap, today, dailyCap int
		want                                bool
	}{
		{0, 0, 0, 0, true},
		{1_000_000, 0, 1_000_000, 0, true}, // no caps
		{499, 500, 0, 0, true},
		{500, 500, 0, 0, false},
		{501, 500, 0, 0, false},
		{0, 0, 2999, 3000, true},
		{0, 0, 3000, 3000, false},
		{499, 500, 2999, 3000, true},
		{500, 500, 2999, 3000, false},
		{499, 500, 3000, 3000, false},
		{10, -1, 10, -5, true}, // negative caps mean no limit
	}
	for _, tc := range tests {
		r, ok := rules.CheckCapacity(tc.inPark, tc.instantCap, tc.today, tc.dailyCap)
		want := rules.OK
		if !tc.want {
			want = rules.CapacityFull
		}
		if ok != tc.want || r != want {
			t.Errorf("CheckCapacity(%d, %d, %d, %d) = %q, %v; want %q, %v",
				tc.inPark, tc.instantCap, tc.today, tc.dailyCap, r, ok, want, tc.want)
		}
	}
}
