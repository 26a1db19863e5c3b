package rules

import (
	"errors"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/proto/sgpb"
)

func TestCheckEntitlementRefusesValuesNoTicketHas(t *testing.T) {
	day := time.Date(2026, 11, 26, 0, 0, 0, 0, time.FixedZone("CST", 8*3600))
	good := func() *sgpb.Entitlement {
		return &sgpb.Entitlement{
			TicketId: "T7Q2", TicketType: sgpb.TicketType_TICKET_TYPE_MULTI, EntriesAllowed: 1000, Version: 3,
			ValidFromMs: day.UnixMilli(), ValidUntilMs: day.AddDate(0, 0, 1).UnixMilli(), Zones: []string{"main"},
			Faces: []*sgpb.FaceDescriptor{{FaceId: "F1", Model: "dlib", Values: make([]float32, 128)},
				{FaceId: "F2", Model: "mobilefacenet", Values: make([]float32, 512)}},
		}
	}
	if err := CheckEntitlement(good()); err != nil {
		t.Fatalf("CheckEntitlement(a real ticket) = %v; want nil", err)
	}
	cases := map[string]func(*sgpb.Entitlement){
		"entries_allowed 2147483647": func(e *sgpb.Entitlement) { e.EntriesAllowed = math.MaxInt32 },
		"negative entries":           func(e *sgpb.Entitlement) { e.EntriesAllowed = -1 },
		"a multi ticket of 0":        func(e *sgpb.Entitlement) { e.EntriesAllowed = 0 },
		"entries_per_day 2147483647": func(e *sgpb.Entitlement) { e.EntriesPerDay = math.MaxInt32 },
		"unknown type":               func(e *sgpb.Entitlement) { e.TicketType = 99 },
		"version 0":                  func(e *sgpb.Entitlement) { e.Version = 0 },
		"empty window":               func(e *sgpb.Entitlement) { e.ValidUntilMs = e.ValidFromMs },
		"until year 292 million":     func(e *sgpb.Entitlement) { e.ValidUntilMs = math.MaxInt64 },
		"from before 2000":           func(e *sgpb.Entitlement) { e.ValidFromMs = -1 },
		"timed without a slot": func(e *sgpb.Entitlement) {
			e.TicketType, e.EntriesAllowed = sgpb.TicketType_TICKET_TYPE_TIMED, 1
		},
		"ticket id with a dot":     func(e *sgpb.Entitlement) { e.TicketId = "T1.2" },
		"ticket id with a space":   func(e *sgpb.Entitlement) { e.TicketId = "T1 2" },
		"ticket id of 129 chars":   func(e *sgpb.Entitlement) { e.TicketId = strings.Repeat("T", 129) },
		"empty ticket id":          func(e *sgpb.Entitlement) { e.TicketId = "" },
		"an empty descriptor":      func(e *sgpb.Entitlement) { e.Faces[0].Values = nil },
		"a 1025-value descriptor":  func(e *sgpb.Entitlement) { e.Faces[0].Values = make([]float32, 1025) },
		"NaN in a descriptor":      func(e *sgpb.Entitlement) { e.Faces[1].Values[7] = float32(math.NaN()) },
		"infinity in a descriptor": func(e *sgpb.Entitlement) { e.Faces[0].Values[0] = float32(math.Inf(-1)) },
		"65 faces": func(e *sgpb.Entitlement) {
			for len(e.Faces) < 65 {
				e.Faces = append(e.Faces, &sgpb.FaceDescriptor{Values: []float32{1}})
			}
		},
		"257 zones": func(e *sgpb.Entitlement) { e.Zones = make([]string, 257) },
	}
	for name, spoil := range cases {
		t.Run(name, func(t *testing.T) {
			e := good()
			spoil(e)
			if err := CheckEntitlement(e); !errors.Is(err, ErrOutOfRange) {
				t.Errorf("CheckEntitlement = %v; want ErrOutOfRange", err)
			}
		})
	}
}
