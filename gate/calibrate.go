package main

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/scenicgate/scenicgate/gate/calibrate"
	"github.com/scenicgate/scenicgate/gate/matcher"
	"github.com/scenicgate/scenicgate/internal/config"
	"github.com/scenicgate/scenicgate/models/faces"
)

func runCalibrate(args []string) error {
	fs := config.NewFlagSet("gate calibrate [options] DIR  (DIR holds one folder of photos per person)")
	models := fs.String("models", "models", "folder with the model files (make models)")
	detector := fs.String("detector", faces.DefaultDetector, "face detector: "+strings.Join(faces.Detectors(), ", "))
	faceModels := fs.String("face-models", "", "models to compare, comma-separated (empty: every one installed)")
	gallery := fs.Int("gallery", 10000, "tickets in a gate's gallery, for the 1:N false-accept rate")
	target := fs.Float64("target-far", 0.001, "the 1:N false-accept rate to recommend a threshold for")
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
	if len(names) != 1 && (*thresholds != "" || *threshold != 0 || *margin != 0) {
		return config.UsageError{Msg: "--thresholds, --threshold and --margin need exactly one model in --face-models"}
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
	e, err := faces.Open(faces.Config{ModelDir: *models, Models: names, Detector: *detector})
	if err != nil {
		return err
	}
	defer e.Close()
	samples, skipped, err := calibrate.Load(context.Background(), e, fs.Arg(0), *minFace)
	if err != nil {
		return err
	}
	var ms []calibrate.Measurement
	perModel := map[string][]float32{}
	for _, m := range e.Models() {
		p := matcher.DefaultPolicy(m.Threshold, m.Margin)
		if *threshold != 0 {
			p.Threshold = float32(*threshold)
		}
		if *margin != 0 {
			p.Margin = float32(*margin)
		}
		perModel[m.Name] = ts
		ms = append(ms, calibrate.Measure(samples, m, p, *gallery, *target))
	}
	calibrate.Report(os.Stdout, ms, samples, skipped, perModel, *gallery, *target)
	if len(samples) == 0 {
		return fmt.Errorf("calibrate: no usable photo in %s", fs.Arg(0))
	}
	return nil
}
