package app

import (
	"context"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/admin/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// TestGatesPageShowsThreshold checks that staff see each gate's 1:N
// threshold and what it was chosen from, in both languages, and that a
// gate with too few tickets says it runs on the model's default.
func TestGatesPageShowsThreshold(t *testing.T) {
	e := newEnv(t, envOptions{})
	e.addUser("viewer1", store.Viewer, "viewer-pass")
	for _, g := range []*sgpb.GateStatus{
		{GateId: "east-1", Zone: "main", FaceModel: "mobilefacenet", GallerySize: 5000, Threshold: 0.3125,
			ThresholdSource: "measured", ThresholdGallery: 5000, ImpostorPairs: 20000, ExpectedFpir: 0.00087, TargetFpir: 0.001},
		{GateId: "west-1", Zone: "main", FaceModel: "mobilefacenet", GallerySize: 12, Threshold: 0.40,
			ThresholdSource: "default", ThresholdGallery: 12, ImpostorPairs: 66, TargetFpir: 0.001},
		{GateId: "north-1", Zone: "main", FaceModel: "mobilefacenet", Threshold: 0.35, ThresholdSource: "fixed"},
	} {
		g.AtMs = time.Now().UnixMilli()
		b, _ := proto.Marshal(g)
		if err := e.nc.Publish(bus.StatusSubject(g.GateId), b); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, "three heartbeats", func() bool { g, _ := e.admin.Store().Gates(context.Background()); return len(g) == 3 })
	gates, err := e.admin.Store().Gates(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if g := gates[0]; g.ID != "east-1" || g.Threshold != 0.3125 || g.ThresholdSource != "measured" || g.ThresholdGallery != 5000 ||
		g.ImpostorPairs != 20000 || g.ExpectedFPIR != 0.00087 || g.TargetFPIR != 0.001 {
		t.Errorf("stored gate = %+v; want the heartbeat's threshold figures", g)
	}
	c := e.client()
	c.mustLogin("viewer1", "viewer-pass")
	for lang, wants := range map[string][]string{
		"en": {"0.312", "for 5000 tickets, from 20000 impostor pairs", "chance 0.00087 (target 0.001)",
			"0.400", "model default: 12 tickets are too few to measure", "0.350", "fixed by --threshold"},
		"zh": {"按 5000 张票、20000 对非同人样本测定", "0.00087（目标 0.001）", "模型默认值：12 张票太少，无法测定", "由 --threshold 固定"},
	} {
		rows := c.get("/gates/rows?lang=" + lang)
		for _, want := range wants {
			if !strings.Contains(rows.body, want) {
				t.Errorf("gates rows (%s) lack %q: %s", lang, want, fmtAnswer(rows))
			}
		}
	}
}
