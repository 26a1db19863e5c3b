package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/admin/live"
	"github.com/scenicgate/scenicgate/admin/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// maxBatch bounds how many admissions go into one transaction while
// catching up.
const maxBatch = 256

// consumeAdmissions follows the ADMISSIONS stream from the stored sequence
// until ctx ends or the consumer fails.
func (i *Ingester) consumeAdmissions(ctx context.Context) error {
	stream, err := i.js.Stream(ctx, bus.StreamAdmissions)
	if err != nil {
		return fmt.Errorf("stream %s (enroll creates it): %w", bus.StreamAdmissions, err)
	}
	last, err := i.store.Cursor(ctx, store.CursorAdmissions)
	if err != nil {
		return err
	}
	info, err := stream.Info(ctx)
	if err != nil {
		return fmt.Errorf("stream %s: %w", bus.StreamAdmissions, err)
	}
	if last > info.State.LastSeq {
		// The stream was recreated and numbers from 1 again. Read it all;
		// event ids keep the replay from counting anything twice.
		i.log.Warn("ADMISSIONS stream is behind the stored position; reading it from the start",
			"stored", last, "stream_last", info.State.LastSeq)
		last = 0
	}
	cfg := jetstream.OrderedConsumerConfig{}
	if last > 0 {
		cfg.DeliverPolicy = jetstream.DeliverByStartSequencePolicy
		cfg.OptStartSeq = last + 1
	}
	cons, err := stream.OrderedConsumer(ctx, cfg)
	if err != nil {
		return fmt.Errorf("ordered consumer: %w", err)
	}
	it, err := cons.Messages()
	if err != nil {
		return fmt.Errorf("ordered consumer: %w", err)
	}
	defer it.Stop()
	i.log.Info("following admissions", "from_seq", last+1)
	p := newProgress(last)
	wctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	// The iterator may be busy remaking its consumer, which only Stop ends.
	go func() { <-wctx.Done(); it.Stop() }()
	go i.watchStall(wctx, cancel, "admissions", p, func(ctx context.Context) (uint64, error) {
		info, err := stream.Info(ctx)
		if err != nil {
			return 0, err
		}
		return info.State.LastSeq, nil
	})
	for {
		batch, err := nextBatch(wctx, it)
		if len(batch) > 0 {
			seq, perr := i.storeAdmissions(ctx, batch)
			if perr != nil {
				return perr
			}
			p.advance(seq)
		}
		if err != nil {
			return stalled(wctx, err)
		}
	}
}

// nextBatch waits for one message, then takes whatever else is already
// there, up to maxBatch.
func nextBatch(ctx context.Context, it jetstream.MessagesContext) ([]jetstream.Msg, error) {
	msg, err := it.Next(jetstream.NextContext(ctx))
	if err != nil {
		return nil, err
	}
	batch := []jetstream.Msg{msg}
	for len(batch) < maxBatch {
		short, cancel := context.WithTimeout(ctx, 5*time.Millisecond)
		msg, err := it.Next(jetstream.NextContext(short))
		cancel()
		if err != nil {
			if errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil {
				return batch, nil
			}
			return batch, err
		}
		batch = append(batch, msg)
	}
	return batch, nil
}

// storeAdmissions decodes and commits a batch, then tells the hub about the
// admissions that were new. It returns the stream sequence it stored up to.
func (i *Ingester) storeAdmissions(ctx context.Context, msgs []jetstream.Msg) (uint64, error) {
	var batch []store.Admission
	var lastSeq uint64
	for _, m := range msgs {
		meta, err := m.Metadata()
		if err != nil {
			return 0, fmt.Errorf("admission metadata: %w", err)
		}
		lastSeq = meta.Sequence.Stream
		var pb sgpb.Admission
		if err := proto.Unmarshal(m.Data(), &pb); err != nil {
			i.log.Error("undecodable admission skipped", "seq", lastSeq, "subject", m.Subject(), "err", err)
			continue
		}
		a := AdmissionFromProto(&pb, lastSeq)
		if a.EventID == "" {
			a.EventID = m.Headers().Get(jetstream.MsgIDHeader)
		}
		if a.EventID == "" {
			a.EventID = fmt.Sprintf("seq-%d", lastSeq)
		}
		batch = append(batch, a)
	}
	res, err := i.store.InsertAdmissions(ctx, batch, lastSeq, i.opts.Now(), rules.Site{Location: i.Settings().Location()})
	if err != nil {
		return 0, err
	}
	for _, c := range res.Conflicts {
		i.log.Warn("ticket let in more often than it allows", "ticket", c.TicketID, "day", c.Day, "entry", c.EntryNumber,
			"admissions", c.Admissions, "allowed", c.Allowed)
	}
	if len(res.Inserted) == 0 {
		return lastSeq, nil
	}
	for _, a := range res.Inserted {
		if a.TicketID != "" {
			if e, err := i.store.Entitlement(ctx, a.TicketID); err == nil {
				a.VisitorName = e.VisitorName
			}
		}
		i.hub.Publish(live.Event{Admission: &a})
	}
	i.nudge()
	return lastSeq, nil
}

// AdmissionFromProto copies an admission received with stream sequence seq.
func AdmissionFromProto(pb *sgpb.Admission, seq uint64) store.Admission {
	return store.Admission{
		EventID: pb.GetEventId(), StreamSeq: seq, GateID: pb.GetGateId(), Zone: pb.GetZone(), TicketID: pb.GetTicketId(),
		Decision: pb.GetDecision(), Reason: pb.GetReason(), Method: pb.GetMethod(), Direction: pb.GetDirection(),
		Distance: pb.GetDistance(), Margin: pb.GetMargin(), Frames: int(pb.GetFrames()), At: time.UnixMilli(pb.GetAtMs()),
		Offline: pb.GetOffline(), LatencyMs: pb.GetLatencyMs(), EntryNumber: int(pb.GetEntryNumber()),
		Operator: pb.GetOperator(), Note: pb.GetNote(), FaceModel: pb.GetFaceModel(),
	}
}
