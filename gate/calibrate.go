package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/scenicgate/scenicgate/gate/calibrate"
	"github.com/scenicgate/scenicgate/gate/matcher"
	"github.com/scenicgate/scenicgate/gate/node"
	"github.com/scenicgate/scenicgate/internal/config"
	"github.com/scenicgate/scenicgate/models/faces"
)

func runCalibrate(args []string) error {
	fs := config.NewFlagSet("gate calibrate [options] DIR  (DIR holds one folder of photos per person)")
	models := fs.String("models", "models", "folder with the model files (make models)")
	detectors := fs.String("detectors", faces.DefaultDetector, "face detectors to compare, comma-separated: "+strings.Join(faces.Detectors(), ", "))
	strangers := fs.String("strangers", "", "folder of other people, one photo each (a file, or a folder of one photo, per person), enrolled as more tickets in the same gallery")
	probeStrangers := fs.Bool("probe-strangers", false, "with --strangers: search with each stranger's photo too, its own ticket left out, as one more person without a ticket (finer FPIR, partly on faces other than the visitors')")
	samePerson := fs.String("same-person", "", "pairs of names (folders) that are one person, NAME=NAME comma-separated: a search for either, without a ticket, leaves both tickets out")
	enrollPhotos := fs.Int("enroll-photos", 1, "photos fused into each visitor's gallery entry, where they have one more to probe with")
	faceModels := fs.String("face-models", "", "models to compare, comma-separated (empty: every one installed)")
	gallery := fs.Int("gallery", 10000, "tickets in a gate's gallery, for the 1:N false-accept rate")
	target := fs.Float64("target-far", 0.001, "the 1:N false-accept rate to recommend a threshold for")
	targetFPIR := fs.Float64("target-fpir", node.DefaultTargetFPIR, "the stranger rate a gate chooses its threshold for (gate --target-fpir): report the threshold a gate holding this gallery would choose, and how it fares (0: not)")
	thresholds := fs.String("thresholds", "", "with one model: thresholds to report, comma-separated (empty: around the recommended one)")
	threshold := fs.Float64("threshold", 0, "with one model: the threshold to try in 1:N trials (0: the model's default)")
	margin := fs.Float64("margin", 0, "with one model: the margin to try in 1:N trials (0: the model's default)")
	minFace := fs.Int("min-face", matcher.DefaultPolicy(0, 0).MinFaceSize, "smallest face side in pixels")
	if err := config.Parse(fs, args, os.Getenv); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return config.UsageError{Msg: "calibrate needs one folder"}
	}
	var names []string
	if *faceModels != "" {
		names = strings.Split(*faceModels, ",")
	}
	if *enrollPhotos < 1 {
		return config.UsageError{Msg: "--enroll-photos must be at least 1"}
	}
	var dets []string
	for _, d := range strings.Split(*detectors, ",") {
		if d = strings.TrimSpace(d); d != "" && !slices.Contains(dets, d) {
			dets = append(dets, d)
		}
	}
	if len(dets) == 0 {
		return config.UsageError{Msg: "--detectors names no detector"}
	}
	if len(names) != 1 && (*thresholds != "" || *threshold != 0 || *margin != 0) {
		return config.UsageError{Msg: "--thresholds, --threshold and --margin need exactly one model in --face-models"}
	}
	var same [][2]string
	for _, p := range strings.Split(*samePerson, ",") {
		if p = strings.TrimSpace(p); p == "" {
			continue
		}
		a, b, ok := strings.Cut(p, "=")
		if !ok || a == "" || b == "" {
			return config.UsageError{Msg: fmt.Sprintf("--same-person %q: want NAME=NAME", p)}
		}
		same = append(same, [2]string{a, b})
	}
	var ts []float32
	if *thresholds != "" {
		for _, s := range strings.Split(*thresholds, ",") {
			v, err := strconv.ParseFloat(strings.TrimSpace(s), 32)
			if err != nil {
				return config.UsageError{Msg: "--thresholds: " + err.Error()}
			}
			ts = append(ts, float32(v))
		}
	}
	for i, d := range dets {
		if i > 0 {
			fmt.Println()
		}
		err := calibrateWith(faces.Config{ModelDir: *models, Models: names, Detector: d}, calibration{
			dir: fs.Arg(0), strangers: *strangers, enrollPhotos: *enrollPhotos, minFace: *minFace,
			probeStrangers: *probeStrangers, samePerson: same, targetFPIR: *targetFPIR,
			threshold: float32(*threshold), margin: float32(*margin), thresholds: ts, gallery: *gallery, target: *target,
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// calibration is what one run of calibrate measures, whatever the detector.
type calibration struct {
	dir, strangers    string
	enrollPhotos      int
	probeStrangers    bool
	targetFPIR        float64
	samePerson        [][2]string
	minFace           int
	threshold, margin float32 // 0: the model's
	thresholds        []float32
	gallery           int
	target            float64
}

// calibrateWith opens an engine with cfg, reads the photos with it and
// writes the report of every model.
func calibrateWith(cfg faces.Config, c calibration) error {
	e, err := faces.Open(cfg)
	if err != nil {
		return err
	}
	defer e.Close()
	ctx := context.Background()
	in := calibrate.Input{Detector: e.Config().Detector, EnrollPhotos: c.enrollPhotos,
		ProbeStrangers: c.probeStrangers, SamePerson: c.samePerson, TargetFPIR: c.targetFPIR}
	in.Visitors, in.Skipped, err = calibrate.Load(ctx, e, c.dir, c.minFace)
	if err != nil {
		return err
	}
	if c.strangers != "" {
		in.StrangersGiven = true
		in.Strangers, in.StrangersSkipped, err = calibrate.LoadStrangers(ctx, e, c.strangers, c.minFace)
		if err != nil {
			return err
		}
	}
	var ms []calibrate.Measurement
	perModel := map[string][]float32{}
	for _, m := range e.Models() {
		p := matcher.DefaultPolicy(m.Threshold, m.Margin)
		if c.threshold != 0 {
			p.Threshold = c.threshold
		}
		if c.margin != 0 {
			p.Margin = c.margin
		}
		perModel[m.Name] = c.thresholds
		r, err := calibrate.Measure(in, m, p, c.gallery, c.target)
		if err != nil {
			return err
		}
		ms = append(ms, r)
	}
	calibrate.Report(os.Stdout, in, ms, perModel, c.gallery, c.target)
	if len(in.Visitors) == 0 {
		return fmt.Errorf("calibrate: no usable photo in %s", c.dir)
	}
	return nil
}
