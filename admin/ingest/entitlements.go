package ingest

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/admin/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// watchEntitlements mirrors the ENTITLEMENTS bucket from the stored
// revision until ctx ends or the watch fails.
func (i *Ingester) watchEntitlements(ctx context.Context) error {
	kv, err := i.js.KeyValue(ctx, bus.BucketEntitlements)
	if err != nil {
		return fmt.Errorf("bucket %s (enroll creates it): %w", bus.BucketEntitlements, err)
	}
	rev, err := i.store.Cursor(ctx, store.CursorEntitlements)
	if err != nil {
		return err
	}
	status, err := kv.Status(ctx)
	if err != nil {
		return fmt.Errorf("bucket %s: %w", bus.BucketEntitlements, err)
	}
	if bs, ok := status.(*jetstream.KeyValueBucketStatus); ok && rev > bs.StreamInfo().State.LastSeq {
		i.log.Warn("ENTITLEMENTS bucket is behind the stored revision; reading it again", "stored", rev,
			"bucket_last", bs.StreamInfo().State.LastSeq)
		rev = 0
	}
	var opts []jetstream.WatchOpt
	if rev > 0 {
		opts = append(opts, jetstream.ResumeFromRevision(rev+1))
	}
	w, err := kv.WatchAll(ctx, opts...)
	if err != nil {
		return fmt.Errorf("watch %s: %w", bus.BucketEntitlements, err)
	}
	defer w.Stop()
	i.log.Info("following entitlements", "from_revision", rev+1)
	p := newProgress(rev)
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go i.watchStall(wctx, cancel, "entitlements", p, func(ctx context.Context) (uint64, error) {
		st, err := kv.Status(ctx)
		if err != nil {
			return 0, err
		}
		return st.(*jetstream.KeyValueBucketStatus).StreamInfo().State.LastSeq, nil
	})
	for {
		var first jetstream.KeyValueEntry
		select {
		case <-wctx.Done():
			return stalled(wctx, ctx.Err())
		case e, ok := <-w.Updates():
			if !ok {
				return errors.New("watch ended")
			}
			p.touch()
			if e == nil { // the initial values are all in
				continue
			}
			first = e
		}
		batch := drain(first, w.Updates())
		if err := i.applyEntitlements(ctx, batch); err != nil {
			return err
		}
		p.advance(batch[len(batch)-1].Revision())
	}
}

// drain returns first and whatever further entries are ready, up to
// maxBatch, without waiting.
func drain(first jetstream.KeyValueEntry, updates <-chan jetstream.KeyValueEntry) []jetstream.KeyValueEntry {
	batch := []jetstream.KeyValueEntry{first}
	for len(batch) < maxBatch {
		select {
		case e, ok := <-updates:
			if !ok {
				return batch
			}
			if e != nil {
				batch = append(batch, e)
			}
		default:
			return batch
		}
	}
	return batch
}

func (i *Ingester) applyEntitlements(ctx context.Context, entries []jetstream.KeyValueEntry) error {
	var changes []store.EntitlementChange
	var rev uint64
	for _, e := range entries {
		rev = max(rev, e.Revision())
		if e.Operation() != jetstream.KeyValuePut {
			changes = append(changes, store.EntitlementChange{TicketID: e.Key(), Deleted: true})
			continue
		}
		// admin shows tickets and decides nothing on them, so it reads
		// enroll's signed values without checking them; gates check.
		var pb sgpb.Entitlement
		payload, err := signed.Unwrap(e.Value())
		if err == nil {
			err = proto.Unmarshal(payload, &pb)
		}
		if err != nil {
			i.log.Error("undecodable entitlement skipped", "key", e.Key(), "revision", e.Revision(), "err", err)
			continue
		}
		ent := store.EntitlementFromProto(&pb, e.Revision())
		ent.TicketID = e.Key()
		changes = append(changes, store.EntitlementChange{TicketID: e.Key(), Entitlement: ent})
	}
	return i.store.ApplyEntitlements(ctx, changes, rev)
}
