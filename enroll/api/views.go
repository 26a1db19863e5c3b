package api

import (
	"time"

	"github.com/scenicgate/scenicgate/enroll/service"
	"github.com/scenicgate/scenicgate/enroll/store"
)

// ticketView is a ticket as the API shows it. Descriptors and photos are
// never sent back.
type ticketView struct {
	TicketID       string            `json:"ticket_id"`
	OrderID        string            `json:"order_id"`
	VisitorIndex   int               `json:"visitor_index"`
	Name           string            `json:"name"`
	Phone          string            `json:"phone,omitempty"`
	IDNumberMasked string            `json:"id_number_masked,omitempty"`
	TicketType     string            `json:"ticket_type"`
	Entries        int               `json:"entries,omitempty"`
	EntriesPerDay  int               `json:"entries_per_day,omitempty"`
	ValidFrom      string            `json:"valid_from"`
	ValidTo        string            `json:"valid_to"`
	ValidStart     time.Time         `json:"valid_start"`
	ValidUntil     time.Time         `json:"valid_until"`
	SlotStart      *time.Time        `json:"slot_start,omitempty"`
	SlotEnd        *time.Time        `json:"slot_end,omitempty"`
	Zones          []string          `json:"zones"`
	Gates          []string          `json:"gates"`
	Revoked        bool              `json:"revoked"`
	RevokeReason   string            `json:"revoke_reason,omitempty"`
	RevokedAt      *time.Time        `json:"revoked_at,omitempty"`
	Faces          []faceView        `json:"faces"`
	ErasedAt       *time.Time        `json:"biometrics_erased_at,omitempty"`
	PurgedAt       *time.Time        `json:"purged_at,omitempty"`
	ConsentAt      *time.Time        `json:"consent_at,omitempty"`
	QRToken        string            `json:"qr_token,omitempty"`
	CreatedAt      time.Time         `json:"created_at"`
	UpdatedAt      time.Time         `json:"updated_at"`
	Version        int64             `json:"version"`
	Warnings       []service.Warning `json:"warnings,omitempty"`
}

type faceView struct {
	FaceID string `json:"face_id"`
	// Models are the embedding models that described the face; a gate
	// matching with a model not among them cannot recognise it.
	Models    []string  `json:"models"`
	Size      int       `json:"size"`
	CreatedAt time.Time `json:"created_at"`
	// ConsentAt is when the visitor consented to this face's processing.
	ConsentAt time.Time `json:"consent_at"`
}

func optTime(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func viewTicket(t store.Ticket) ticketView {
	v := ticketView{
		TicketID: t.ID, OrderID: t.OrderID, VisitorIndex: t.VisitorIndex, Name: t.VisitorName,
		Phone: t.Phone, IDNumberMasked: t.IDNumberMasked, TicketType: t.Type,
		Entries: t.EntriesAllowed, EntriesPerDay: t.EntriesPerDay,
		ValidFrom: t.ValidFrom, ValidTo: t.ValidTo, ValidStart: t.ValidStart, ValidUntil: t.ValidUntil,
		SlotStart: optTime(t.SlotStart), SlotEnd: optTime(t.SlotEnd),
		Zones: nonNil(t.Zones), Gates: nonNil(t.Gates),
		Revoked: t.Revoked, RevokeReason: t.RevokeReason, RevokedAt: optTime(t.RevokedAt),
		ErasedAt: optTime(t.ErasedAt), PurgedAt: optTime(t.PurgedAt), ConsentAt: optTime(t.ConsentAt),
		CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt, Version: t.Version,
		Faces: []faceView{},
	}
	for _, f := range t.Faces {
		v.Faces = append(v.Faces, faceView{FaceID: f.ID, Models: nonNil(f.Models()), Size: f.Size, CreatedAt: f.CreatedAt, ConsentAt: f.ConsentAt})
	}
	return v
}

func viewIssued(t service.IssuedTicket) ticketView {
	v := viewTicket(t.Ticket)
	v.QRToken = t.QRToken
	v.Warnings = t.Warnings
	if v.Warnings == nil {
		v.Warnings = []service.Warning{}
	}
	return v
}

func nonNil(v []string) []string {
	if v == nil {
		return []string{}
	}
	return v
}
