package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/gate/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// Gate-level reasons, beside the ticket rules' own.
const (
	// ReasonOfflinePolicy: the ticket's entry could not be claimed while
	// NATS was unreachable and the offline policy is deny.
	ReasonOfflinePolicy rules.Reason = "offline_policy"
	// ReasonFaceMismatch: in verify mode the live face did not match the
	// ticket shown by QR code.
	ReasonFaceMismatch rules.Reason = "face_mismatch"
	// ReasonBadQR: a QR code that is not a valid ticket token.
	ReasonBadQR rules.Reason = "invalid_qr"
	// ReasonManual: opened by staff.
	ReasonManual rules.Reason = "manual"
	// ReasonNotRecorded: the gate cannot record decisions (its disk is
	// full) and --disk-full-policy is deny.
	ReasonNotRecorded rules.Reason = "not_recorded"
)

// Identified is who a frame (or several) showed, and how.
type Identified struct {
	TicketID string // "" for an unknown face
	Method   sgpb.Method
	Distance float32
	Margin   float32
	Frames   int
	// CapturedAt is when the frame that completed the identification was
	// taken; latency is measured from it.
	CapturedAt time.Time
	// Token is the QR token id shown, for QR methods.
	TokenID string
	// Note is written on the admission for staff.
	Note string
}

// Outcome is what the gate did.
type Outcome struct {
	Allow       bool
	Reason      rules.Reason
	EntryNumber int
	Offline     bool
	Admission   *sgpb.Admission
}

// Decide applies the ticket rules, the site capacity and the entry claim to
// an identification, records the admission in the outbox and opens the
// turnstile when allowed. It returns what it did. A decision that the disk
// would not take is held in memory and sent to NATS (see record); it is not
// an error.
func (n *Node) Decide(ctx context.Context, id Identified) (Outcome, error) {
	now := n.now()
	day := n.siteRules().Day(now).String()
	e, err := n.mirror.Get(ctx, id.TicketID)
	if err != nil {
		return Outcome{}, err
	}
	out := Outcome{}
	switch {
	case id.TicketID == "":
		out.Reason = rules.Unknown
	case id.Method == sgpb.Method_METHOD_QR || id.Method == sgpb.Method_METHOD_VERIFY:
		if e == nil {
			out.Reason = rules.Unknown
		} else if id.TokenID != e.QrTokenId {
			// A re-issued QR code retires the old one.
			out.Reason = ReasonBadQR
		}
	}
	if out.Reason == "" {
		entries, today, err := n.usage(ctx, id.TicketID, day)
		if err != nil {
			return Outcome{}, err
		}
		d := n.siteRules().Decide(e, n.gate, rules.Usage{Entries: entries, EntriesToday: today}, now)
		out.Allow, out.Reason, out.EntryNumber = d.Allow, d.Reason, d.EntryNumber
	}
	entry := n.gate.Direction == sgpb.Direction_DIRECTION_ENTRY
	if out.Allow && entry {
		if r, full := n.capacityFull(); full {
			out.Allow, out.Reason = false, r
		}
	}
	if out.Allow && n.cfg.DiskFullPolicy == "deny" && n.unrecorded.failing() {
		out.Allow, out.Reason = false, ReasonNotRecorded
	}
	eventID := newEventID(n.cfg.ID, now)
	if out.Allow && entry {
		// Anti-passback before the claim, so that a visitor inside
		// already does not use up an entry of a limited ticket.
		undo := n.passbackEnter(ctx, id.TicketID, eventID, &out)
		if out.Allow {
			eventID = n.claim(ctx, e, day, eventID, &out)
			if !out.Allow {
				undo(ctx)
			}
		}
	}
	adm := n.admissionOf(eventID, id, out, now)
	out.Admission = adm
	// The outbox first, then the turnstile: a visitor let through leaves a
	// record even if the gate dies the next instant.
	err = n.record(ctx, adm, id.TicketID, day, out)
	n.noteEntry(e, day, out)
	if out.Allow {
		n.open(adm, id.CapturedAt)
		if !entry {
			n.passbackExit(ctx, id.TicketID, eventID)
		}
	}
	return out, err
}

// usage counts the entries of a ticket this gate admitted, in all and on
// day: those recorded and those held in memory.
func (n *Node) usage(ctx context.Context, ticketID, day string) (entries, today int, err error) {
	entries, today, _, err = n.store.Usage(ctx, ticketID, day)
	if err != nil {
		return 0, 0, err
	}
	e, d := n.unrecorded.usage(ticketID, day)
	return entries + e, today + d, nil
}

// capacityFull applies the site's published capacities when the site
// enforces them, from the occupancy admin last published.
func (n *Node) capacityFull() (rules.Reason, bool) {
	st := n.site.Settings()
	if !st.EnforceCapacity {
		return "", false
	}
	occ := n.site.Occupancy()
	if occ.Day != n.siteRules().Day(n.now()).String() {
		return "", false // a new day: yesterday's counts do not apply
	}
	r, ok := rules.CheckCapacity(occ.InPark, st.InstantCapacity, occ.AdmittedToday, st.DailyCapacity)
	return r, !ok
}

func (n *Node) offlineDecision(out *Outcome) {
	out.Offline = true
	if n.cfg.OfflinePolicy != "allow" {
		out.Allow, out.Reason = false, ReasonOfflinePolicy
	}
}

type claimKey struct {
	key    string
	number int
}

// claimKeys lists the redemption keys a ticket's entry may take, from the
// entry numbered first on. The mirror holds only entitlements within
// rules.CheckEntitlement's limits; the limits are applied here again, so no
// value can make the list long.
func claimKeys(e *sgpb.Entitlement, day string, first int) []claimKey {
	if first < 1 {
		first = 1
	}
	allowed := min(int(e.EntriesAllowed), rules.MaxEntries)
	perDay := min(int(e.EntriesPerDay), rules.MaxEntriesPerDay)
	var keys []claimKey
	switch e.TicketType {
	case sgpb.TicketType_TICKET_TYPE_SINGLE, sgpb.TicketType_TICKET_TYPE_TIMED:
		keys = append(keys, claimKey{bus.RedemptionKey(e.TicketId, 1), 1})
	case sgpb.TicketType_TICKET_TYPE_MULTI:
		for i := first; i <= allowed; i++ {
			keys = append(keys, claimKey{bus.RedemptionKey(e.TicketId, i), i})
		}
	case sgpb.TicketType_TICKET_TYPE_MULTI_DAY, sgpb.TicketType_TICKET_TYPE_ANNUAL:
		for i := 1; i <= perDay; i++ {
			keys = append(keys, claimKey{bus.RedemptionKey(e.TicketId+"."+day, i), i})
		}
	}
	return keys
}

// admission is the record of a decision made at now, under a new event id.
func (n *Node) admission(id Identified, out Outcome, now time.Time) *sgpb.Admission {
	return n.admissionOf(newEventID(n.cfg.ID, now), id, out, now)
}

// admissionOf is the record of a decision made at now with the given event
// id; its latency runs from the frame's capture to this moment, after any
// wait for a claim.
func (n *Node) admissionOf(eventID string, id Identified, out Outcome, now time.Time) *sgpb.Admission {
	decision := sgpb.Decision_DECISION_DENY
	if out.Allow {
		decision = sgpb.Decision_DECISION_ALLOW
	}
	a := &sgpb.Admission{
		EventId:     eventID,
		GateId:      n.cfg.ID,
		Zone:        n.cfg.Zone,
		TicketId:    id.TicketID,
		Decision:    decision,
		Reason:      string(out.Reason),
		Method:      id.Method,
		Direction:   n.gate.Direction,
		Distance:    id.Distance,
		Margin:      id.Margin,
		Frames:      int32(id.Frames),
		AtMs:        now.UnixMilli(),
		Offline:     out.Offline,
		EntryNumber: int32(out.EntryNumber),
		Note:        id.Note,
		FaceModel:   n.model.Name,
	}
	if !id.CapturedAt.IsZero() {
		a.LatencyMs = float32(n.now().Sub(id.CapturedAt).Seconds() * 1000)
	}
	return a
}

// newEventID is unique across gates: the gate id, the time and 48 random
// bits. It is the Nats-Msg-Id that deduplicates re-sent admissions.
func newEventID(gate string, now time.Time) string {
	b := make([]byte, 6)
	rand.Read(b)
	return gate + "-" + strconv.FormatInt(now.UnixMilli(), 36) + "-" + hex.EncodeToString(b)
}

// record writes the admission to the outbox and wakes the publisher. A
// decision once made is recorded even when ctx ends meanwhile (a shutdown
// that begins during the decision): only ctx's values are used.
//
// When the disk will not take it (full, or failing), the admission is held
// in memory, sent straight to NATS by the publisher and written once the
// disk takes writes again; the gate reports the fault meanwhile. That is
// not an error: the decision stands and is kept.
func (n *Node) record(ctx context.Context, a *sgpb.Admission, ticketID, day string, out Outcome) error {
	ctx = context.WithoutCancel(ctx)
	payload, err := proto.Marshal(a)
	if err != nil {
		return err
	}
	rec := store.Admission{
		EventID: a.EventId, TicketID: ticketID, Allowed: out.Allow,
		Entry:       a.Direction == sgpb.Direction_DIRECTION_ENTRY && a.Method != sgpb.Method_METHOD_MANUAL,
		EntryNumber: out.EntryNumber, Day: day, At: time.UnixMilli(a.AtMs), Offline: out.Offline, Payload: payload,
	}
	if err := n.store.AddAdmission(ctx, rec); err != nil {
		n.unrecorded.hold(rec, err)
		n.log.Error("decision not recorded on disk; held in memory and sent straight to NATS",
			"event", a.EventId, "ticket", ticketID, "allow", out.Allow, "reason", a.Reason, "err", err)
	} else {
		n.unrecorded.wrote()
	}
	n.metrics.decision(a)
	n.publisher.Wake()
	n.log.Info("gate decision", "ticket", ticketID, "allow", out.Allow, "reason", a.Reason,
		"method", a.Method.String(), "distance", a.Distance, "latency_ms", a.LatencyMs, "offline", a.Offline,
		"entry", out.EntryNumber, "event", a.EventId)
	n.feed(a)
	return nil
}
