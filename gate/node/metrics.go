package node

import (
	"context"
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/scenicgate/scenicgate/proto/sgpb"
)

type metrics struct {
	reg           *prometheus.Registry
	decisions     *prometheus.CounterVec
	latency       prometheus.Histogram
	frames        prometheus.Counter
	tracks        prometheus.Counter
	relayFailures prometheus.Counter
}

func newMetrics(n *Node) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "scenicgate_gate_decisions_total", Help: "Gate decisions by decision, reason and method.",
		}, []string{"decision", "reason", "method"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "scenicgate_gate_decision_seconds",
			Help:    "From the capture of the deciding frame to the relay command.",
			Buckets: []float64{0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 2},
		}),
		frames: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scenicgate_gate_frames_total", Help: "Camera frames processed.",
		}),
		tracks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scenicgate_gate_tracks_total", Help: "Faces followed across frames: one per approach, decided at most once.",
		}),
		relayFailures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "scenicgate_gate_relay_failures_total", Help: "Relay pulses that failed.",
		}),
	}
	gauge := func(name, help string, fn func() float64) prometheus.Collector {
		return prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: name, Help: help}, fn)
	}
	m.reg.MustRegister(collectors.NewGoCollector(), m.decisions, m.latency, m.frames, m.tracks, m.relayFailures,
		gauge("scenicgate_gate_gallery_tickets", "Tickets in the face gallery.", func() float64 {
			t, _ := n.gallery.Len()
			return float64(t)
		}),
		gauge("scenicgate_gate_tickets_other_alignment",
			"Tickets searched with descriptors of the gate's model aligned for another detector (enroll faces recompute --detector).",
			func() float64 { return float64(n.mirror.OtherAlignment()) }),
		gauge("scenicgate_gate_mirror_revision", "Last applied ENTITLEMENTS revision.", func() float64 {
			return float64(n.mirror.Revision())
		}),
		gauge("scenicgate_gate_outbox_depth", "Admissions not yet published.", func() float64 {
			d, _ := n.store.OutboxDepth(context.Background())
			return float64(d)
		}),
	)
	for _, kind := range []string{"entitlement", "site", "command"} {
		m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name:        "scenicgate_gate_refused_total",
			Help:        "Messages from the bus the gate refused: unsigned, forged, stale or out of range.",
			ConstLabels: prometheus.Labels{"kind": kind},
		}, func() float64 { return float64(n.refusals.Totals()[kind]) }))
	}
	return m
}

func (m *metrics) decision(a *sgpb.Admission) {
	m.decisions.WithLabelValues(a.Decision.String(), a.Reason, a.Method.String()).Inc()
}

// Handler serves /healthz (the status as JSON; 503 while faults are
// reported) and /metrics.
func (n *Node) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(n.metrics.reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		st := n.Status(r.Context())
		b, _ := protojson.Marshal(st)
		w.Header().Set("Content-Type", "application/json")
		if len(st.Faults) > 0 {
			w.WriteHeader(http.StatusServiceUnavailable)
		}
		w.Write(b)
	})
	return mux
}
