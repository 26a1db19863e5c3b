package store

import (
	"github.com/scenicgate/scenicgate/proto/sgpb"

	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

// TicketTypes maps the API's ticket type names to the wire enum.
var TicketTypes = map[string]sgpb.TicketType{
	"single":    sgpb.TicketType_TICKET_TYPE_SINGLE,
	"multi":     sgpb.TicketType_TICKET_TYPE_MULTI,
	"day_pass":  sgpb.TicketType_TICKET_TYPE_DAY_PASS,
	"multi_day": sgpb.TicketType_TICKET_TYPE_MULTI_DAY,
	"annual":    sgpb.TicketType_TICKET_TYPE_ANNUAL,
	"timed":     sgpb.TicketType_TICKET_TYPE_TIMED,
}

// Entitlement returns what gates need to know of the ticket. The caller owns
// the returned message.
func (t Ticket) Entitlement() *sgpb.Entitlement {
	e := &sgpb.Entitlement{
		TicketId:       t.ID,
		OrderId:        t.OrderID,
		VisitorName:    t.VisitorName,
		TicketType:     TicketTypes[t.Type],
		EntriesAllowed: int32(t.EntriesAllowed),
		EntriesPerDay:  int32(t.EntriesPerDay),
		ValidFromMs:    sqlitedb.Millis(t.ValidStart),
		ValidUntilMs:   sqlitedb.Millis(t.ValidUntil),
		SlotStartMs:    sqlitedb.Millis(t.SlotStart),
		SlotEndMs:      sqlitedb.Millis(t.SlotEnd),
		Zones:          t.Zones,
		Gates:          t.Gates,
		Revoked:        t.Revoked,
		RevokeReason:   t.RevokeReason,
		QrTokenId:      t.QRTokenID,
		UpdatedAtMs:    sqlitedb.Millis(t.UpdatedAt),
		Version:        t.Version,
	}
	for _, f := range t.Faces {
		for _, d := range f.Descriptors {
			e.Faces = append(e.Faces, &sgpb.FaceDescriptor{FaceId: f.ID, Model: d.Model, Alignment: d.Alignment, Values: d.Values})
		}
	}
	return e
}
