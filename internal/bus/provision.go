package bus

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// AdmissionsDedupWindow is how long the ADMISSIONS stream remembers event ids.
// A gate that was offline re-sends its outbox when it returns; a day covers
// any outage a site would sit through without noticing.
const AdmissionsDedupWindow = 24 * time.Hour

// Retention bounds how long NATS keeps what gates write. Personal data is
// kept no longer than it serves: admissions until admin has materialised
// them, entry claims until every ticket they could concern has ended.
type Retention struct {
	// Admissions is the ADMISSIONS stream's max age: admin reads the
	// stream within seconds and keeps its own copy for its own period.
	Admissions time.Duration
	// Redemptions is the REDEMPTIONS bucket's max age. A claim must outlive
	// its ticket, or the entry it claimed could be claimed again: enroll
	// refuses tickets that end later than a claim made today would live.
	Redemptions time.Duration
}

// DefaultRetention is what Provision sets.
func DefaultRetention() Retention {
	return Retention{Admissions: 30 * 24 * time.Hour, Redemptions: 402 * 24 * time.Hour}
}

// Provision creates or updates the JetStream assets ScenicGate uses, with
// the given number of replicas (1 on a single server) and DefaultRetention.
// It is idempotent. Of the programs, only enroll may run it.
func Provision(ctx context.Context, js jetstream.JetStream, replicas int) error {
	return ProvisionWith(ctx, js, replicas, DefaultRetention())
}

// PresenceTTL is how long the PRESENCE bucket keeps a mark: twice the
// longest passback window a site may set.
const PresenceTTL = 48 * time.Hour

// ProvisionWith is Provision with the given retention; a zero period
// takes the default.
func ProvisionWith(ctx context.Context, js jetstream.JetStream, replicas int, ret Retention) error {
	if replicas < 1 {
		replicas = 1
	}
	def := DefaultRetention()
	if ret.Admissions <= 0 {
		ret.Admissions = def.Admissions
	}
	if ret.Redemptions <= 0 {
		ret.Redemptions = def.Redemptions
	}
	buckets := []jetstream.KeyValueConfig{
		{
			Bucket:      BucketEntitlements,
			Description: "ticket id → sgpb.Entitlement signed by enroll",
			// Only the newest value of a ticket matters, and an erased face
			// must not live on in an older revision.
			History:  1,
			Storage:  jetstream.FileStorage,
			Replicas: replicas,
		},
		{
			Bucket:      BucketSite,
			Description: "site settings gates keep offline",
			History:     1,
			Storage:     jetstream.FileStorage,
			Replicas:    replicas,
		},
		{
			Bucket:      BucketPresence,
			Description: "ticket id → sgpb.Presence, for anti-passback",
			History:     1,
			// The passback window is at most a day; a mark older than that
			// decides nothing and is forgotten.
			TTL:      PresenceTTL,
			Storage:  jetstream.FileStorage,
			Replicas: replicas,
		},
	}
	for _, cfg := range buckets {
		if _, err := js.CreateOrUpdateKeyValue(ctx, cfg); err != nil {
			return fmt.Errorf("bus: provision bucket %s: %w", cfg.Bucket, err)
		}
	}
	if _, err := js.CreateOrUpdateStream(ctx, redemptionsStream(replicas, ret.Redemptions)); err != nil {
		return fmt.Errorf("bus: provision bucket %s: %w", BucketRedemptions, err)
	}
	_, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        StreamAdmissions,
		Description: "every gate decision",
		Subjects:    []string{AdmissionSubjects},
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		MaxAge:      ret.Admissions,
		// The server refuses a dedup window longer than the max age.
		Duplicates: min(AdmissionsDedupWindow, ret.Admissions),
	})
	if err != nil {
		return fmt.Errorf("bus: provision stream %s: %w", StreamAdmissions, err)
	}
	return nil
}

// redemptionsStream is the stream behind the REDEMPTIONS bucket: a KV
// bucket's stream, except that the server itself refuses a second message
// on a key. A gate may Create a claim, but neither a Put nor a Delete nor a
// Purge — which are all messages on the key's subject — can take it back, so
// even a gate's stolen credentials cannot free a used single-use ticket.
// Claims go after maxAge, when every ticket they could concern has ended.
func redemptionsStream(replicas int, maxAge time.Duration) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:                 streamOf(BucketRedemptions),
		Description:          "claims of single-use entries; first write wins, until the claim's ticket has ended",
		Subjects:             []string{kvPrefix + BucketRedemptions + ".>"},
		MaxMsgsPerSubject:    1,
		MaxMsgs:              -1,
		MaxBytes:             -1,
		MaxMsgSize:           -1,
		MaxConsumers:         -1,
		Storage:              jetstream.FileStorage,
		Replicas:             replicas,
		MaxAge:               maxAge,
		Duplicates:           min(2*time.Minute, maxAge),
		AllowDirect:          true,
		Discard:              jetstream.DiscardNew,
		DiscardNewPerSubject: true,
		DenyDelete:           true,
		DenyPurge:            true,
	}
}
