package node

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/scenicgate/scenicgate/gate/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// reconnectGrace is how long a gate that lost its NATS connection waits,
// during a claim, for the client to reach another server of the cluster
// before it deems NATS unreachable. The client tries every other server at
// once, so in a cluster a lost node costs far less.
const reconnectGrace = 2 * time.Second

// errAllUsed: every entry the ticket allows is claimed already.
var errAllUsed = errors.New("every entry is claimed")

// claim takes the entry in the REDEMPTIONS bucket, so no other gate can give
// it too. Entry-limited tickets claim keys ticket.N (or ticket.DAY.N for
// per-day limits) with Create, starting from the entry this gate believes is
// next and moving on past entries other gates already claimed. Tickets
// without a limit need no claim.
//
// It returns the event id the decision is recorded under: eventID, or the
// one of a claim this gate made earlier for the ticket and never used
// (store.Claim), which the decision then uses.
//
// The gate writes the claim it is about to make to its database first; the
// admission that records the decision settles it (store.AddAdmission). When
// JetStream does not answer — a cluster electing a leader, a node lost — it
// tries again until --claim-wait has passed, and reports "checking"
// meanwhile. It decides offline (--offline-policy) when NATS is unreachable,
// or after waiting that long, and then decides offline at once until
// JetStream answers again.
func (n *Node) claim(ctx context.Context, e *sgpb.Entitlement, day, eventID string, out *Outcome) string {
	keys := claimKeys(e, day, out.EntryNumber)
	if len(keys) == 0 {
		out.Offline = !n.online()
		return eventID
	}
	if kept, ok := n.keptClaim(ctx, e, day); ok {
		return n.useKept(ctx, e, kept, out)
	}
	if !n.reachable(ctx) || n.jetstream.down() {
		n.offlineDecision(out)
		return eventID
	}
	c := store.Claim{EventID: eventID, TicketID: e.TicketId, Day: day, FirstEntry: keys[0].number, At: n.now(), Until: claimUntil(e, n.siteRules(), day)}
	if err := n.store.BeginClaim(ctx, c); err != nil {
		// A full disk: the claim goes ahead, but a crash before the
		// decision is recorded would lose it.
		n.log.Error("the claim about to be made could not be written down", "event", eventID, "ticket", e.TicketId, "err", err)
	}
	k, unsure, err := n.claimEntry(ctx, keys, eventID)
	switch {
	case err == nil:
		out.EntryNumber = k.number
		if n.afterClaim != nil {
			n.afterClaim()
		}
	case errors.Is(err, errAllUsed):
		out.Allow, out.Reason = false, rules.AlreadyUsed
	default:
		n.log.Warn("claiming an entry failed; deciding offline", "ticket", e.TicketId, "err", err)
		n.offlineDecision(out)
		if unsure && !out.Allow {
			// A try may still land, for an entry nobody used: the claim
			// stays to be looked up once JetStream answers, and the
			// denial goes under an event id of its own.
			return newEventID(n.cfg.ID, n.now())
		}
	}
	return eventID
}

// claimUntil is when a claim made for e on day is of no more use: the end
// of that day for per-day entries, else the end of the ticket.
func claimUntil(e *sgpb.Entitlement, site rules.Site, day string) time.Time {
	until := time.UnixMilli(e.ValidUntilMs)
	if e.EntriesPerDay > 0 {
		if d, err := rules.ParseDate(day); err == nil {
			if end := site.StartOfDay(d.AddDays(1)); end.Before(until) {
				until = end
			}
		}
	}
	return until
}

// claimValue is what a claim holds: who claimed, for which admission, when.
func (n *Node) claimValue(eventID string) []byte {
	return []byte(n.cfg.ID + " " + eventID + " " + n.now().UTC().Format(time.RFC3339Nano))
}

// claimedFor reports whether a claim's value names the admission eventID.
func claimedFor(value []byte, eventID string) bool {
	f := strings.Fields(string(value))
	return len(f) >= 2 && f[1] == eventID
}

// claimEntry creates the first free key of keys for eventID. It retries
// while JetStream is unavailable for at most ClaimWait, and returns
// errAllUsed when every key is taken, or the error that made it give up —
// then unsure says whether its last try may yet create the key.
func (n *Node) claimEntry(ctx context.Context, keys []claimKey, eventID string) (k claimKey, unsure bool, err error) {
	start := time.Now()
	deadline := start.Add(n.cfg.ClaimWait)
	value := n.claimValue(eventID)
	// unsure: the last try may have created the key without the answer
	// reaching the gate.
	var checking bool
	defer func() {
		if checking {
			n.jetstream.checked()
		}
	}()
	backoff := 50 * time.Millisecond
	for i := 0; i < len(keys); {
		k = keys[i]
		kv, err := n.redemptions(ctx)
		if err == nil {
			cctx, cancel := context.WithTimeout(ctx, n.cfg.ClaimTimeout)
			_, err = kv.Create(cctx, k.key, value)
			cancel()
			if errors.Is(err, jetstream.ErrKeyExists) && unsure {
				err = n.ownClaim(ctx, kv, k.key, eventID)
			}
		}
		switch {
		case err == nil:
			n.jetstream.up()
			if checking {
				n.log.Info("entry claimed after checking", "key", k.key, "waited", time.Since(start).Round(time.Millisecond))
			}
			return k, false, nil
		case errors.Is(err, jetstream.ErrKeyExists):
			n.jetstream.up()
			unsure = false
			i++
			continue
		case !transient(ctx, err):
			return claimKey{}, unsure, err
		}
		unsure = true
		if !checking {
			checking = true
			n.jetstream.checking(err)
			n.log.Warn("checking: the entry claim waits for NATS JetStream", "key", k.key, "err", err, "up_to", n.cfg.ClaimWait)
		}
		wait := min(backoff, time.Until(deadline))
		if wait <= 0 || !n.reachable(ctx) {
			n.jetstream.unavailable(err)
			return claimKey{}, true, fmt.Errorf("no answer from JetStream within %v: %w", n.cfg.ClaimWait, err)
		}
		select {
		case <-ctx.Done():
			return claimKey{}, true, ctx.Err()
		case <-time.After(wait):
		}
		backoff = min(backoff*2, 500*time.Millisecond)
	}
	return claimKey{}, false, errAllUsed
}

// transient reports whether a failed claim may work if tried again soon:
// JetStream electing a leader or out of quorum, a request lost with a node,
// the connection moving to another server. A refusal (no permission, no
// such bucket) or the end of ctx is not.
func transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil {
		return false
	}
	var apiErr *jetstream.APIError
	switch {
	case errors.Is(err, nats.ErrPermissionViolation), errors.Is(err, nats.ErrAuthorization),
		errors.Is(err, jetstream.ErrBucketNotFound), errors.Is(err, jetstream.ErrStreamNotFound),
		errors.Is(err, nats.ErrConnectionClosed):
		return false
	case errors.As(err, &apiErr):
		return apiErr.Code == 503 || apiErr.Code == 408 || apiErr.Code == 504
	}
	return true
}

// errClaimInFlight: the bucket's leader says a key is taken, but nobody
// can read it yet — a claim (as likely the gate's own, whose answer was
// lost) not yet committed by a quorum.
var errClaimInFlight = errors.New("the key is taken by a claim not yet committed")

// ownClaim reads key, which Create found taken after an earlier try of the
// gate's went unanswered. It returns nil when the claim is the admission
// eventID's, jetstream.ErrKeyExists when another's, and otherwise an error
// worth waiting out: a claim in flight, or no answer.
func (n *Node) ownClaim(ctx context.Context, kv jetstream.KeyValue, key, eventID string) error {
	gctx, cancel := context.WithTimeout(ctx, n.cfg.ClaimTimeout)
	defer cancel()
	en, err := kv.Get(gctx, key)
	switch {
	case errors.Is(err, jetstream.ErrKeyNotFound):
		return errClaimInFlight
	case err != nil:
		return err
	case claimedFor(en.Value(), eventID):
		return nil
	}
	return jetstream.ErrKeyExists
}

// keptClaim returns the oldest claim this gate made for e and never used,
// if it is still of use.
func (n *Node) keptClaim(ctx context.Context, e *sgpb.Entitlement, day string) (store.Claim, bool) {
	onDay := ""
	if e.EntriesPerDay > 0 {
		onDay = day
	}
	c, err := n.store.ClaimOf(ctx, e.TicketId, onDay)
	if err != nil || !c.Until.After(n.now()) {
		return store.Claim{}, false
	}
	return c, true
}

// useKept decides with a claim the gate made earlier for the ticket and
// never used, under that claim's event id. A held claim gives its entry; a
// claim not yet looked up is looked up now, and when it never reached the
// bucket it is dropped and the entry claimed afresh. Offline, see
// offlineKept.
func (n *Node) useKept(ctx context.Context, e *sgpb.Entitlement, c store.Claim, out *Outcome) string {
	if !c.Held {
		if !n.reachable(ctx) || n.jetstream.down() {
			return n.offlineKept(c, out)
		}
		held, err := n.settleClaim(ctx, e, c)
		if err != nil {
			return n.offlineKept(c, out)
		}
		if !held.Held {
			// Never claimed: claim now, as for a new visitor.
			return n.claim(ctx, e, c.Day, newEventID(n.cfg.ID, n.now()), out)
		}
		c = held
	}
	n.log.Info("admitting with an entry this gate claimed before it stopped, which no visitor used",
		"ticket", e.TicketId, "key", c.Key, "claimed_at", c.At)
	out.EntryNumber = c.EntryNumber
	return c.EventID
}

// offlineKept decides offline for a ticket with a claim not yet looked up.
// An admission takes the claim's event id, and with it the claim: the entry
// counts once whether or not the claim landed. A denial leaves the claim for
// a later visit.
func (n *Node) offlineKept(c store.Claim, out *Outcome) string {
	n.offlineDecision(out)
	if !out.Allow {
		return newEventID(n.cfg.ID, n.now())
	}
	return c.EventID
}

// settleClaim looks up in the bucket a claim the gate was making when it
// stopped and returns it held, when the gate's claim is there, or dropped
// (Held false, and forgotten) when it never got there.
func (n *Node) settleClaim(ctx context.Context, e *sgpb.Entitlement, c store.Claim) (store.Claim, error) {
	kv, err := n.redemptions(ctx)
	if err != nil {
		return c, err
	}
	// The keys were tried in order, each after the one before was found
	// taken: the gate's claim, if any, is the first key not taken by
	// someone else.
	for _, k := range claimKeys(e, c.Day, c.FirstEntry) {
		gctx, cancel := context.WithTimeout(ctx, n.cfg.ClaimTimeout)
		en, err := kv.Get(gctx, k.key)
		cancel()
		switch {
		case errors.Is(err, jetstream.ErrKeyNotFound):
			return c, n.store.DropClaim(ctx, c.EventID)
		case err != nil:
			return c, err
		case claimedFor(en.Value(), c.EventID):
			if err := n.store.HoldClaim(ctx, c.EventID, k.key, k.number); err != nil {
				return c, err
			}
			c.Held, c.Key, c.EntryNumber = true, k.key, k.number
			return c, nil
		}
	}
	return c, n.store.DropClaim(ctx, c.EventID)
}

// settleClaims looks up the claims the gate was making when it last
// stopped, once NATS answers, and forgets claims no visitor can use any
// more. It runs at start and then every interval until ctx ends.
func (n *Node) settleClaims(ctx context.Context, interval time.Duration) {
	for {
		n.settleClaimsOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

func (n *Node) settleClaimsOnce(ctx context.Context) {
	if claims, err := n.store.Claims(ctx); err != nil || len(claims) == 0 {
		return // the usual case: nothing to do, and nothing written
	}
	gone, err := n.store.PruneClaims(ctx, n.now())
	if err != nil {
		return
	}
	for _, c := range gone {
		if c.Held {
			n.log.Warn("an entry this gate claimed was never used and its ticket (or day) has ended",
				"ticket", c.TicketID, "key", c.Key, "claimed_at", c.At)
		}
	}
	claims, err := n.store.Claims(ctx)
	if err != nil || !n.online() || n.jetstream.down() {
		return
	}
	for _, c := range claims {
		if c.Held {
			continue
		}
		e, err := n.mirror.Get(ctx, c.TicketID)
		if err != nil {
			continue
		}
		if e == nil {
			n.store.DropClaim(ctx, c.EventID)
			continue
		}
		held, err := n.settleClaim(ctx, e, c)
		switch {
		case err != nil:
			return // NATS is not answering; later
		case held.Held:
			n.log.Warn("this gate stopped after claiming an entry and before opening: the ticket's next visit at this gate uses it",
				"ticket", c.TicketID, "key", held.Key, "claimed_at", c.At)
		default:
			n.log.Info("a claim this gate was making when it stopped never reached NATS; forgotten", "ticket", c.TicketID)
		}
	}
}

// online reports whether the NATS connection is up now.
func (n *Node) online() bool { return n.nc != nil && n.nc.Status() == nats.CONNECTED }

// reachable reports whether NATS can be reached for a claim: the connection
// is up, or was lost less than reconnectGrace ago and comes back within it
// (the client reaching another node of the cluster).
func (n *Node) reachable(ctx context.Context) bool {
	deadline := time.Now().Add(reconnectGrace)
	for !n.online() {
		if n.link.downFor(time.Now()) >= reconnectGrace || time.Now().After(deadline) {
			return false
		}
		select {
		case <-ctx.Done():
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
	return true
}

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
