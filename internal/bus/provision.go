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

// Provision creates or updates the JetStream assets ScenicGate uses, with
// the given number of replicas (1 on a single server). It is idempotent.
// Of the programs, only enroll may run it.
func Provision(ctx context.Context, js jetstream.JetStream, replicas int) error {
	if replicas < 1 {
		replicas = 1
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
	}
	for _, cfg := range buckets {
		if _, err := js.CreateOrUpdateKeyValue(ctx, cfg); err != nil {
			return fmt.Errorf("bus: provision bucket %s: %w", cfg.Bucket, err)
		}
	}
	if _, err := js.CreateOrUpdateStream(ctx, redemptionsStream(replicas)); err != nil {
		return fmt.Errorf("bus: provision bucket %s: %w", BucketRedemptions, err)
	}
	_, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:        StreamAdmissions,
		Description: "every gate decision",
		Subjects:    []string{AdmissionSubjects},
		Storage:     jetstream.FileStorage,
		Replicas:    replicas,
		Duplicates:  AdmissionsDedupWindow,
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
func redemptionsStream(replicas int) jetstream.StreamConfig {
	return jetstream.StreamConfig{
		Name:                 streamOf(BucketRedemptions),
		Description:          "claims of single-use entries; first write wins, for good",
		Subjects:             []string{kvPrefix + BucketRedemptions + ".>"},
		MaxMsgsPerSubject:    1,
		MaxMsgs:              -1,
		MaxBytes:             -1,
		MaxMsgSize:           -1,
		MaxConsumers:         -1,
		Storage:              jetstream.FileStorage,
		Replicas:             replicas,
		Duplicates:           2 * time.Minute,
		AllowDirect:          true,
		Discard:              jetstream.DiscardNew,
		DiscardNewPerSubject: true,
		DenyDelete:           true,
		DenyPurge:            true,
	}
}
