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
	models := fs.String("models", "models", "folder with the dlib model files")
	gallery := fs.Int("gallery", 10000, "tickets in a gate's gallery, for the 1:N false-accept rate")
	target := fs.Float64("target-far", 0.001, "the 1:N false-accept rate to recommend a threshold for")
	thresholds := fs.String("thresholds", "0.35,0.40,0.45,0.50,0.55,0.60", "thresholds to report, comma-separated")
	threshold := fs.Float64("threshold", float64(matcher.DefaultPolicy().Threshold), "the policy's threshold to try in 1:N trials")
	margin := fs.Float64("margin", float64(matcher.DefaultPolicy().Margin), "the policy's margin to try in 1:N trials")
	minFace := fs.Int("min-face", matcher.DefaultPolicy().MinFaceSize, "smallest face side in pixels")
	if err := config.Parse(fs, args, os.Getenv); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return config.UsageError{Msg: "calibrate needs one folder"}
	}
	var ts []float32
	for _, s := range strings.Split(*thresholds, ",") {
		v, err := strconv.ParseFloat(strings.TrimSpace(s), 32)
		if err != nil {
			return config.UsageError{Msg: "--thresholds: " + err.Error()}
		}
		ts = append(ts, float32(v))
	}
	e, err := faces.Open(faces.Config{ModelDir: *models})
	if err != nil {
		return err
	}
	defer e.Close()
	samples, skipped, err := calibrate.Load(context.Background(), e, fs.Arg(0), *minFace)
	if err != nil {
		return err
	}
	calibrate.Report(os.Stdout, calibrate.Pairs(samples), skipped, ts, *gallery, *target)
	policy := matcher.DefaultPolicy()
	policy.Threshold, policy.Margin = float32(*threshold), float32(*margin)
	fmt.Println()
	calibrate.ReportPolicy(os.Stdout, policy, calibrate.Evaluate(samples, policy))
	return nil
}
