package store

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/scenicgate/scenicgate/proto/sgpb"

	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

// Gate is the last heartbeat admin received from a gate.
type Gate struct {
	ID             string
	Zone           string
	StatusAt       time.Time // the gate's own clock
	ReceivedAt     time.Time // admin's clock; liveness is judged by it
	Mode           string
	FPS            float32
	LastFrameAge   time.Duration
	Relay          string
	RelayOK        bool
	MirrorRevision uint64
	MirrorLag      uint64
	OutboxDepth    int64
	GallerySize    int64
	Faults         []string
	StartedAt      time.Time
	Version        string
	// FaceModel is the embedding model the gate matches with, and
	// TicketsWithoutModel how many of its tickets have faces but no
	// descriptor from it: those visitors can come in by QR code only.
	FaceModel           string
	TicketsWithoutModel int64
	// Threshold is the gate's 1:N match threshold and ThresholdSource how
	// it came: "fixed", "measured" or "default" (too few tickets to
	// measure). A measured one was chosen for ThresholdGallery tickets from
	// ImpostorPairs pairs so that ExpectedFPIR is at most TargetFPIR.
	Threshold        float32
	ThresholdSource  string
	ThresholdGallery int64
	ImpostorPairs    int64
	ExpectedFPIR     float64
	TargetFPIR       float64
}

// GateFromStatus copies a heartbeat received at receivedAt.
func GateFromStatus(st *sgpb.GateStatus, receivedAt time.Time) Gate {
	return Gate{
		ID: st.GetGateId(), Zone: st.GetZone(), StatusAt: sqlitedb.Time(st.GetAtMs()), ReceivedAt: receivedAt,
		Mode: st.GetMode(), FPS: st.GetFps(), LastFrameAge: time.Duration(st.GetLastFrameAgeMs()) * time.Millisecond,
		Relay: st.GetRelay(), RelayOK: st.GetRelayOk(), MirrorRevision: st.GetMirrorRevision(), MirrorLag: st.GetMirrorLag(),
		OutboxDepth: st.GetOutboxDepth(), GallerySize: st.GetGallerySize(), Faults: st.GetFaults(),
		StartedAt: sqlitedb.Time(st.GetStartedAtMs()), Version: st.GetVersion(),
		FaceModel: st.GetFaceModel(), TicketsWithoutModel: st.GetTicketsWithoutModel(),
		Threshold: st.GetThreshold(), ThresholdSource: st.GetThresholdSource(), ThresholdGallery: st.GetThresholdGallery(),
		ImpostorPairs: st.GetImpostorPairs(), ExpectedFPIR: st.GetExpectedFpir(), TargetFPIR: st.GetTargetFpir(),
	}
}

// PutGate stores a gate's latest heartbeat, replacing the one before.
func (s *Store) PutGate(ctx context.Context, g Gate) error {
	faults, _ := json.Marshal(append([]string{}, g.Faults...))
	_, err := s.db.Write.ExecContext(ctx, `
		INSERT INTO gates (gate_id, zone, status_at_ms, received_at_ms, mode, fps, last_frame_age_ms, relay, relay_ok,
			mirror_revision, mirror_lag, outbox_depth, gallery_size, faults, started_at_ms, version, face_model, tickets_without_model,
			threshold, threshold_source, threshold_gallery, impostor_pairs, expected_fpir, target_fpir)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (gate_id) DO UPDATE SET
			zone = excluded.zone, status_at_ms = excluded.status_at_ms, received_at_ms = excluded.received_at_ms,
			mode = excluded.mode, fps = excluded.fps, last_frame_age_ms = excluded.last_frame_age_ms,
			relay = excluded.relay, relay_ok = excluded.relay_ok, mirror_revision = excluded.mirror_revision,
			mirror_lag = excluded.mirror_lag, outbox_depth = excluded.outbox_depth, gallery_size = excluded.gallery_size,
			faults = excluded.faults, started_at_ms = excluded.started_at_ms, version = excluded.version,
			face_model = excluded.face_model, tickets_without_model = excluded.tickets_without_model,
			threshold = excluded.threshold, threshold_source = excluded.threshold_source,
			threshold_gallery = excluded.threshold_gallery, impostor_pairs = excluded.impostor_pairs,
			expected_fpir = excluded.expected_fpir, target_fpir = excluded.target_fpir`,
		g.ID, g.Zone, sqlitedb.Millis(g.StatusAt), sqlitedb.Millis(g.ReceivedAt), g.Mode, g.FPS, g.LastFrameAge.Milliseconds(), g.Relay,
		boolInt(g.RelayOK), g.MirrorRevision, g.MirrorLag, g.OutboxDepth, g.GallerySize, string(faults),
		sqlitedb.Millis(g.StartedAt), g.Version, g.FaceModel, g.TicketsWithoutModel,
		g.Threshold, g.ThresholdSource, g.ThresholdGallery, g.ImpostorPairs, g.ExpectedFPIR, g.TargetFPIR)
	if err != nil {
		return fmt.Errorf("store: put gate %s: %w", g.ID, err)
	}
	return nil
}

// Gates returns every gate that ever sent a heartbeat, sorted by id.
func (s *Store) Gates(ctx context.Context) ([]Gate, error) {
	rows, err := s.db.Read.QueryContext(ctx, `
		SELECT gate_id, zone, status_at_ms, received_at_ms, mode, fps, last_frame_age_ms, relay, relay_ok,
			mirror_revision, mirror_lag, outbox_depth, gallery_size, faults, started_at_ms, version, face_model, tickets_without_model,
			threshold, threshold_source, threshold_gallery, impostor_pairs, expected_fpir, target_fpir
		FROM gates ORDER BY gate_id`)
	if err != nil {
		return nil, fmt.Errorf("store: gates: %w", err)
	}
	defer rows.Close()
	out := []Gate{}
	for rows.Next() {
		var g Gate
		var at, recv, age, started int64
		var faults string
		if err := rows.Scan(&g.ID, &g.Zone, &at, &recv, &g.Mode, &g.FPS, &age, &g.Relay, &g.RelayOK,
			&g.MirrorRevision, &g.MirrorLag, &g.OutboxDepth, &g.GallerySize, &faults, &started, &g.Version,
			&g.FaceModel, &g.TicketsWithoutModel,
			&g.Threshold, &g.ThresholdSource, &g.ThresholdGallery, &g.ImpostorPairs, &g.ExpectedFPIR, &g.TargetFPIR); err != nil {
			return nil, fmt.Errorf("store: gates: %w", err)
		}
		g.StatusAt, g.ReceivedAt, g.StartedAt = sqlitedb.Time(at), sqlitedb.Time(recv), sqlitedb.Time(started)
		g.LastFrameAge = time.Duration(age) * time.Millisecond
		if err := json.Unmarshal([]byte(faults), &g.Faults); err != nil {
			return nil, fmt.Errorf("store: gate %s faults: %w", g.ID, err)
		}
		out = append(out, g)
	}
	return out, rows.Err()
}
