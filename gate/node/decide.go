package node

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
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
// an identification, opens the turnstile when allowed, and records the
// admission in the outbox. It returns what it did.
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
		entries, today, _, err := n.store.Usage(ctx, id.TicketID, day)
		if err != nil {
			return Outcome{}, err
		}
		d := n.siteRules().Decide(e, n.gate, rules.Usage{Entries: entries, EntriesToday: today}, now)
		out.Allow, out.Reason, out.EntryNumber = d.Allow, d.Reason, d.EntryNumber
	}
	if out.Allow && n.gate.Direction == sgpb.Direction_DIRECTION_ENTRY {
		if r, full := n.capacityFull(); full {
			out.Allow, out.Reason = false, r
		}
	}
	if out.Allow && n.gate.Direction == sgpb.Direction_DIRECTION_ENTRY {
		n.claim(ctx, e, day, &out)
	}
	adm := n.admission(id, out, now)
	out.Admission = adm
	// The outbox first, then the turnstile: a visitor let through leaves a
	// record even if the gate dies the next instant.
	err = n.record(ctx, adm, id.TicketID, day, out)
	if out.Allow {
		// The visitor was admitted; a failing disk does not keep them out.
		n.open(adm, id.CapturedAt)
	}
	return out, err
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

// claim takes the entry in the REDEMPTIONS bucket, so no other gate can give
// it too. Entry-limited tickets claim keys ticket.N (or ticket.DAY.N for
// per-day limits) with Create, starting from the entry this gate believes is
// next and moving on past entries other gates already claimed. Tickets
// without a limit need no claim.
func (n *Node) claim(ctx context.Context, e *sgpb.Entitlement, day string, out *Outcome) {
	keys := claimKeys(e, day, out.EntryNumber)
	if len(keys) == 0 {
		out.Offline = !n.online()
		return
	}
	if !n.online() {
		n.offlineDecision(out)
		return
	}
	kv, err := n.redemptions(ctx)
	if err != nil {
		n.offlineDecision(out)
		return
	}
	value := []byte(n.cfg.ID + " " + n.now().UTC().Format(time.RFC3339Nano))
	for _, k := range keys {
		cctx, cancel := context.WithTimeout(ctx, n.cfg.ClaimTimeout)
		_, err := kv.Create(cctx, k.key, value)
		cancel()
		switch {
		case err == nil:
			out.EntryNumber = k.number
			return
		case errors.Is(err, jetstream.ErrKeyExists):
			continue
		default:
			n.log.Warn("claiming an entry failed; deciding offline", "key", k.key, "err", err)
			n.offlineDecision(out)
			return
		}
	}
	out.Allow, out.Reason = false, rules.AlreadyUsed
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

func (n *Node) online() bool { return n.nc != nil && n.nc.Status() == nats.CONNECTED }

func (n *Node) redemptions(ctx context.Context) (jetstream.KeyValue, error) {
	n.kvMu.Lock()
	defer n.kvMu.Unlock()
	if n.kvRedemptions != nil {
		return n.kvRedemptions, nil
	}
	cctx, cancel := context.WithTimeout(ctx, n.cfg.ClaimTimeout)
	defer cancel()
	kv, err := n.js.KeyValue(cctx, bus.BucketRedemptions)
	if err != nil {
		return nil, err
	}
	n.kvRedemptions = kv
	return kv, nil
}

func (n *Node) admission(id Identified, out Outcome, now time.Time) *sgpb.Admission {
	decision := sgpb.Decision_DECISION_DENY
	if out.Allow {
		decision = sgpb.Decision_DECISION_ALLOW
	}
	a := &sgpb.Admission{
		EventId:     newEventID(n.cfg.ID, now),
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
		a.LatencyMs = float32(now.Sub(id.CapturedAt).Seconds() * 1000)
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
func (n *Node) record(ctx context.Context, a *sgpb.Admission, ticketID, day string, out Outcome) error {
	ctx = context.WithoutCancel(ctx)
	payload, err := proto.Marshal(a)
	if err != nil {
		return err
	}
	err = n.store.AddAdmission(ctx, store.Admission{
		EventID: a.EventId, TicketID: ticketID, Allowed: out.Allow,
		Entry:       a.Direction == sgpb.Direction_DIRECTION_ENTRY && a.Method != sgpb.Method_METHOD_MANUAL,
		EntryNumber: out.EntryNumber, Day: day, At: time.UnixMilli(a.AtMs), Offline: out.Offline, Payload: payload,
	})
	if err != nil {
		return err
	}
	n.metrics.decision(a)
	n.publisher.Wake()
	n.log.Info("gate decision", "ticket", ticketID, "allow", out.Allow, "reason", a.Reason,
		"method", a.Method.String(), "distance", a.Distance, "latency_ms", a.LatencyMs, "offline", a.Offline)
	n.feed(a)
	return nil
}
