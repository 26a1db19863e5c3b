package rules_test

import (
	"errors"
	"testing"
	"time"
	_ "time/tzdata" // Europe/Berlin must load on any test machine.

	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

func berlin(tb testing.TB) rules.Site {
	tb.Helper()
	loc, err := time.LoadLocation("Europe/Berlin")
	if err != nil {
		tb.Fatal(err)
	}
	return rules.Site{Location: loc}
}

func date(tb testing.TB, s string) rules.Date {
	tb.Helper()
	d, err := rules.ParseDate(s)
	if err != nil {
		tb.Fatal(err)
	}
	return d
}

func TestParseDate(t *testing.T) {
	good := []struct {
		in   string
		want rules.Date
	}{
		{"2026-11-26", rules.Date{Year: 2026, Month: time.November, Day: 26}},
		{"2028-02-29", rules.Date{Year: 2028, Month: time.February, Day: 29}},
		{"0001-01-01", rules.Date{Year: 1, Month: time.January, Day: 1}},
	}
	for _, tc := range good {
		got, err := rules.ParseDate(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseDate(%q) = %v, %v; want %v, nil", tc.in, got, err, tc.want)
		}
		if got.String() != tc.in {
			t.Errorf("ParseDate(%q).String() = %q; want the input back", tc.in, got.String())
		}
	}
	for _, in := range []string{"", "2026-02-30", "2027-02-29", "2026-13-01", "2026-1-2", "26-11-2026",
		"2026-11-26T00:00:00+08:00", " 2026-11-26", "2026/11/26", "二〇二六-11-26"} {
		if got, err := rules.ParseDate(in); !errors.Is(err, rules.ErrBadDate) {
			t.Errorf("ParseDate(%q) = %v, %v; want ErrBadDate", in, got, err)
		}
	}
}

func TestDateArithmetic(t *testing.T) {
	tests := []struct {
		from string
		n    int
		want string
	}{
		{"2026-11-26", 0, "2026-11-26"},
		{"2026-11-26", 1, "2026-11-27"},
		{"2026-11-30", 1, "2026-12-01"},
		{"2026-12-31", 1, "2027-01-01"},
		{"2028-02-28", 1, "2028-02-29"},
		{"2027-02-28", 1, "2027-03-01"},
		{"2027-01-01", -1, "2026-12-31"},
		{"2026-01-01", 364, "2026-12-31"},
		{"2026-03-28", 2, "2026-03-30"}, // across Europe's spring change; Date has no zone
	}
	for _, tc := range tests {
		if got := date(t, tc.from).AddDays(tc.n).String(); got != tc.want {
			t.Errorf("%s.AddDays(%d) = %s; want %s", tc.from, tc.n, got, tc.want)
		}
	}
	a, b := date(t, "2026-11-26"), date(t, "2026-11-27")
	if !a.Before(b) || b.Before(a) || a.Before(a) {
		t.Errorf("Before: %v<%v=%v, %v<%v=%v, %v<%v=%v; want true, false, false",
			a, b, a.Before(b), b, a, b.Before(a), a, a, a.Before(a))
	}
	for _, d := range []rules.Date{{}, {Year: 2026, Month: 2, Day: 29}, {Year: 2026, Month: 13, Day: 1}, {Year: 2026, Month: 0, Day: 1}, {Year: 2026, Month: 4, Day: 31}, {Year: 2026, Month: 4, Day: 0}} {
		if d.Valid() {
			t.Errorf("%#v.Valid() = true; want false", d)
		}
	}
}

func TestValidityWindow(t *testing.T) {
	tests := []struct {
		name        string
		site        rules.Site
		first, last string
		from, until string
	}{
		{"one day, Shanghai", rules.Site{}, "2026-11-26", "2026-11-26", "2026-11-26T00:00:00+08:00", "2026-11-27T00:00:00+08:00"},
		{"three days, Shanghai", rules.Site{}, "2026-11-26", "2026-11-28", "2026-11-26T00:00:00+08:00", "2026-11-29T00:00:00+08:00"},
		{"a year, Shanghai", rules.Site{}, "2026-01-01", "2026-12-31", "2026-01-01T00:00:00+08:00", "2027-01-01T00:00:00+08:00"},
		{"over a leap day", rules.Site{}, "2028-02-28", "2028-02-29", "2028-02-28T00:00:00+08:00", "2028-03-01T00:00:00+08:00"},
		{"Berlin, winter", berlin(t), "2026-11-26", "2026-11-26", "2026-11-26T00:00:00+01:00", "2026-11-27T00:00:00+01:00"},
		// 2026-03-29 has 23 hours in Berlin, 2026-10-25 has 25.
		{"Berlin, spring change", berlin(t), "2026-03-29", "2026-03-29", "2026-03-29T00:00:00+01:00", "2026-03-30T00:00:00+02:00"},
		{"Berlin, autumn change", berlin(t), "2026-10-25", "2026-10-25", "2026-10-25T00:00:00+02:00", "2026-10-26T00:00:00+01:00"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			from, until, err := tc.site.ValidityWindow(date(t, tc.first), date(t, tc.last))
			if err != nil {
				t.Fatalf("ValidityWindow(%s, %s): %v", tc.first, tc.last, err)
			}
			if !from.Equal(at(t, tc.from)) || !until.Equal(at(t, tc.until)) {
				t.Errorf("ValidityWindow(%s, %s) = [%v, %v); want [%s, %s)", tc.first, tc.last, from, until, tc.from, tc.until)
			}
		})
	}
	if _, _, err := site.ValidityWindow(date(t, "2026-11-27"), date(t, "2026-11-26")); !errors.Is(err, rules.ErrDateOrder) {
		t.Errorf("ValidityWindow(27th, 26th) error = %v; want ErrDateOrder", err)
	}
	if _, _, err := site.ValidityWindow(rules.Date{}, date(t, "2026-11-26")); !errors.Is(err, rules.ErrBadDate) {
		t.Errorf("ValidityWindow(zero Date, 26th) error = %v; want ErrBadDate", err)
	}
	if _, _, err := site.ValidityWindow(date(t, "2026-11-26"), rules.Date{Year: 2026, Month: 11, Day: 31}); !errors.Is(err, rules.ErrBadDate) {
		t.Errorf("ValidityWindow(26th, November 31) error = %v; want ErrBadDate", err)
	}
}

func TestDay(t *testing.T) {
	shanghai := rules.Site{}
	tests := []struct {
		name    string
		site    rules.Site
		instant string
		want    string
	}{
		{"Shanghai midnight", shanghai, "2026-11-26T00:00:00+08:00", "2026-11-26"},
		{"Shanghai 1ns before midnight", shanghai, "2026-11-25T23:59:59.999999999+08:00", "2026-11-25"},
		{"Shanghai morning is UTC's evening before", shanghai, "2026-11-25T17:30:00Z", "2026-11-26"},
		{"Berlin, same instant", berlin(t), "2026-11-25T17:30:00Z", "2026-11-25"},
		{"Berlin, late on the spring change day", berlin(t), "2026-03-29T21:30:00Z", "2026-03-29"},
		{"Shanghai, same instant", shanghai, "2026-03-29T21:30:00Z", "2026-03-30"},
		{"Berlin, midnight after spring change", berlin(t), "2026-03-29T22:00:00Z", "2026-03-30"},
		{"Berlin, last minute of the autumn change day", berlin(t), "2026-10-25T22:59:00Z", "2026-10-25"},
		{"Berlin, midnight after autumn change", berlin(t), "2026-10-25T23:00:00Z", "2026-10-26"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.site.Day(at(t, tc.instant)).String(); got != tc.want {
				t.Errorf("Day(%s) = %s; want %s", tc.instant, got, tc.want)
			}
		})
	}
	if got := rules.DefaultLocation(); got == nil || at(t, "2026-07-01T00:00:00Z").In(got).Hour() != 8 {
		t.Errorf("DefaultLocation() = %v; want UTC+8", got)
	}
}

// TestDecideBerlinDST runs a one-day ticket through the 25-hour day when
// Berlin leaves summer time: the last hour of that day, which would already
// be the next day in a zone without the change, still admits.
func TestDecideBerlinDST(t *testing.T) {
	b := berlin(t)
	from, until, err := b.ValidityWindow(date(t, "2026-10-25"), date(t, "2026-10-25"))
	if err != nil {
		t.Fatal(err)
	}
	if got := until.Sub(from); got != 25*time.Hour {
		t.Fatalf("Berlin 2026-10-25 lasts %v; want 25h", got)
	}
	e := &sgpb.Entitlement{TicketType: sgpb.TicketType_TICKET_TYPE_SINGLE,
		ValidFromMs: from.UnixMilli(), ValidUntilMs: until.UnixMilli()}
	tests := []struct {
		instant string
		want    rules.Decision
	}{
		{"2026-10-24T21:59:59.999Z", deny(rules.NotYetValid)},
		{"2026-10-24T22:00:00Z", allow(1)},            // 00:00 CEST
		{"2026-10-25T22:30:00Z", allow(1)},            // 23:30 CET, the 25th hour
		{"2026-10-25T23:00:00Z", deny(rules.Expired)}, // 00:00 CET on the 26th
	}
	for _, tc := range tests {
		if got := b.Decide(e, entryGate, rules.Usage{}, at(t, tc.instant)); got != tc.want {
			t.Errorf("Berlin Decide(single on 2026-10-25, %s) = %v; want %v", tc.instant, got, tc.want)
		}
	}
}
