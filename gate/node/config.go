package node

import (
	"flag"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/scenicgate/scenicgate/gate/matcher"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/config"
	"github.com/scenicgate/scenicgate/models/faces"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

// Modes of identification.
const (
	// ModeFace: 1:N face search only.
	ModeFace = "face"
	// ModeVerify: the visitor shows the ticket's QR code and the live face
	// must match that ticket's faces (1:1); a ticket without faces is
	// admitted by its QR code alone.
	ModeVerify = "verify"
	// ModeFaceOrQR: either 1:N face search or the QR code alone.
	ModeFaceOrQR = "face-or-qr"
)

// Config is everything a gate is told on its command line.
type Config struct {
	ID        string
	Zone      string
	Direction string // "entry" or "exit"
	Mode      string
	Camera    string
	CameraFPS float64
	// CameraWidth and CameraHeight ask a device for that frame size and
	// scale recorded frames down to fit it; 0 takes what comes.
	CameraWidth, CameraHeight int
	Relay                     string
	Pulse                     time.Duration
	Data                      string
	Listen                    string
	// TLSCert and TLSKey, when set, make /healthz and /metrics HTTPS.
	TLSCert, TLSKey string
	NATS            bus.Options
	// TrustEnroll and TrustAdmin name the public keys the gate checks
	// entitlements and QR keys (enroll's), and settings and commands
	// (admin's) against: the keys themselves, comma-separated, or a file
	// holding them. They come with the installation, never from the bus.
	TrustEnroll, TrustAdmin string
	Models                  string
	// FaceModel is the embedding model the gate matches with; Policy's
	// Threshold and Margin of 0 take its measured defaults.
	FaceModel string
	// Detector is the face detector (faces.Detectors). It decides how the
	// ONNX models' faces are aligned, so enroll must use the same one.
	Detector string
	Workers  int
	Policy   matcher.Policy
	// OfflinePolicy says what a gate does with an entry-limited ticket it
	// cannot claim because NATS is unreachable: "allow" (and flag it) or
	// "deny".
	OfflinePolicy string
	// ClaimTimeout bounds each request for a claim; one that gets no
	// answer in time is tried again, within ClaimWait.
	ClaimTimeout time.Duration
	// ClaimWait bounds how long a claim waits for JetStream to answer — a
	// cluster electing a new leader after losing a node — before the gate
	// decides offline. It must exceed the cluster's election time.
	ClaimWait time.Duration
	// DiskFullPolicy says what the lane does while it cannot record
	// decisions (its disk is full): "allow" keeps admitting, sending each
	// decision straight to NATS and holding it in memory until the disk
	// takes it; "deny" refuses with not_recorded.
	DiskFullPolicy string
	// QRHold is how long a QR code read in verify mode waits for the face.
	QRHold time.Duration
	// StatusEvery is the heartbeat interval.
	StatusEvery time.Duration
	// AdmissionsRetention is how long the gate keeps its own record of a
	// decision once NATS has it; entries of tickets still mirrored stay,
	// since they count the ticket's use.
	AdmissionsRetention time.Duration
}

// DefaultClaimWait bounds a claim's wait for JetStream. nats-server's
// followers call an election 4 to 9 s (their random election timeout)
// after the last word from a lost leader; a three-node cluster of the
// version go.mod pins had a new leader for REDEMPTIONS 5.4 to 8.4 s after
// its leader was killed, and claims waited 5.2 to 8.0 s for it, over seven
// runs of TestClusterLosesNodes. The default waits out the longest
// election timeout.
const DefaultClaimWait = 10 * time.Second

// DefaultMinFace is a lane's smallest face worth matching, in pixels of the
// default 1280x720 frame: a visitor within about 0.9 m of a camera with a
// 70° field of view. Anyone farther is still queueing, and the face detector
// looks at grey frames shrunk so that this size is 83 pixels (667x375
// instead of 1280x720: a quarter of the pixels). At 640x480, use 80.
const DefaultMinFace = 160

// DefaultConfig returns the defaults printed by --help.
func DefaultConfig() Config {
	policy := matcher.DefaultPolicy(0, 0)
	policy.MinFaceSize = DefaultMinFace
	return Config{
		ID:            "lane-1",
		Zone:          "main",
		Direction:     "entry",
		Mode:          ModeFaceOrQR,
		Camera:        "0",
		CameraFPS:     5,
		CameraWidth:   1280,
		CameraHeight:  720,
		Relay:         "log",
		Pulse:         300 * time.Millisecond,
		Data:          "var/gate",
		Listen:        "127.0.0.1:8090",
		NATS:          bus.Options{URL: "nats://127.0.0.1:4222", Replicas: 1},
		Models:        "models",
		FaceModel:     faces.DefaultModel,
		Detector:      faces.DefaultDetector,
		Workers:       1,
		Policy:        policy,
		OfflinePolicy: "allow",
		ClaimTimeout:  400 * time.Millisecond,
		QRHold:        8 * time.Second,
		StatusEvery:   5 * time.Second,

		AdmissionsRetention: 7 * 24 * time.Hour,
		ClaimWait:           DefaultClaimWait,
		DiskFullPolicy:      "allow",
	}
}

// RegisterFlags binds the flags to c.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.ID, "id", c.ID, "this gate's id, unique on the site")
	fs.StringVar(&c.Zone, "zone", c.Zone, "the zone this gate leads into")
	fs.StringVar(&c.Direction, "direction", c.Direction, "entry or exit")
	fs.StringVar(&c.Mode, "mode", c.Mode, "face (1:N), verify (QR then face 1:1) or face-or-qr")
	fs.StringVar(&c.Camera, "camera", c.Camera, "camera: device index or path, RTSP/HTTP URL, video file, or a folder of images")
	fs.Float64Var(&c.CameraFPS, "camera-fps", c.CameraFPS, "frames per second played from a folder camera")
	fs.IntVar(&c.CameraWidth, "camera-width", c.CameraWidth, "frame width to ask the camera for (recorded frames are scaled to fit); 0: as delivered")
	fs.IntVar(&c.CameraHeight, "camera-height", c.CameraHeight, "frame height, likewise")
	fs.StringVar(&c.Relay, "relay", c.Relay, "relay: lcus:/dev/ttyUSB0, modbus:/dev/ttyUSB0?addr=1&coil=0[&flash=1], or log (flash: the board ends each pulse itself)")
	fs.DurationVar(&c.Pulse, "pulse", c.Pulse, "relay pulse length (turnstiles need at least 100ms)")
	fs.StringVar(&c.Data, "data", c.Data, "folder for gate.db")
	fs.StringVar(&c.Listen, "listen", c.Listen, "HTTP address of /healthz and /metrics (empty: none; any address but loopback wants --tls-cert)")
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "TLS certificate file (PEM); serve /healthz and /metrics over HTTPS with --tls-key")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "TLS key file (PEM)")
	c.NATS.RegisterFlags(fs, "NATS server URL(s), comma-separated: enroll's embedded server, or the cluster")
	fs.StringVar(&c.TrustEnroll, "trust-enroll", c.TrustEnroll, "enroll's public key (`enroll public-key`), or a file holding it: entitlements and QR keys must be signed with it")
	fs.StringVar(&c.TrustAdmin, "trust-admin", c.TrustAdmin, "admin's public key (`admin public-key`), or a file holding it: settings and commands must be signed with it")
	fs.StringVar(&c.Models, "models", c.Models, "folder with the model files (make models)")
	fs.StringVar(&c.FaceModel, "face-model", c.FaceModel, "embedding model to match with: "+strings.Join(faces.ModelNames(), ", ")+" (choose with gate calibrate)")
	fs.StringVar(&c.Detector, "detector", c.Detector, "face detector, enroll's too: "+strings.Join(faces.Detectors(), ", "))
	fs.IntVar(&c.Workers, "workers", c.Workers, "face engine workers (0: one per CPU); a lane decides one frame at a time, so more only hold more memory")
	config.Float32Var(fs, &c.Policy.Threshold, "threshold", "largest face distance accepted as the same person (0: the model's measured default: "+modelDefaults(func(m faces.Model) float32 { return m.Threshold })+"; cosine distance = 1 − similarity)")
	config.Float32Var(fs, &c.Policy.Margin, "margin", "how much farther the second-best identity must be (0: the model's: "+modelDefaults(func(m faces.Model) float32 { return m.Margin })+")")
	fs.IntVar(&c.Policy.Agree, "agree", c.Policy.Agree, "frames that must agree on a ticket (K of --window)")
	fs.IntVar(&c.Policy.Window, "window", c.Policy.Window, "frames considered for agreement (N)")
	fs.IntVar(&c.Policy.MinFaceSize, "min-face", c.Policy.MinFaceSize, "smallest face side in pixels worth matching: smaller faces are people still queueing; faces are looked for in frames shrunk so that this is 83 pixels, so a larger value is quicker (80 suits 640x480)")
	fs.DurationVar(&c.Policy.Cooldown, "cooldown", c.Policy.Cooldown, "time before the same ticket is decided again")
	fs.StringVar(&c.OfflinePolicy, "offline-policy", c.OfflinePolicy, "allow or deny entry-limited tickets while NATS is unreachable")
	fs.DurationVar(&c.ClaimTimeout, "claim-timeout", c.ClaimTimeout, "longest wait for one answer from NATS when claiming an entry (tried again within --claim-wait)")
	fs.DurationVar(&c.ClaimWait, "claim-wait", c.ClaimWait, "longest a claim waits for NATS JetStream to answer (a cluster electing a leader) before the gate decides offline; keep it above the cluster's election time")
	fs.StringVar(&c.DiskFullPolicy, "disk-full-policy", c.DiskFullPolicy, "allow or deny entries while the gate cannot record decisions (disk full); allow sends them straight to NATS and holds them in memory")
	fs.DurationVar(&c.QRHold, "qr-hold", c.QRHold, "verify mode: how long a read QR code waits for the face")
	fs.DurationVar(&c.StatusEvery, "status-every", c.StatusEvery, "heartbeat interval")
	fs.DurationVar(&c.AdmissionsRetention, "admissions-retention", c.AdmissionsRetention, "how long the gate keeps its own record of a decision after NATS has it (the entries of tickets it still holds stay until enroll purges them)")
}

// modelDefaults lists a measured default of every model for --help.
func modelDefaults(value func(faces.Model) float32) string {
	var parts []string
	for _, m := range faces.Models() {
		parts = append(parts, fmt.Sprintf("%s %.2f", m.Name, value(m)))
	}
	return strings.Join(parts, ", ")
}

// Model returns the embedding model the gate matches with.
func (c Config) Model() (faces.Model, error) {
	m, err := faces.Lookup(c.FaceModel)
	if err != nil {
		return faces.Model{}, fmt.Errorf("--face-model: %w", err)
	}
	return m, nil
}

// withModelDefaults returns c with a threshold or margin of 0 replaced by
// the face model's measured default.
func (c Config) withModelDefaults() (Config, error) {
	m, err := c.Model()
	if err != nil {
		return c, err
	}
	if c.Policy.Threshold == 0 {
		c.Policy.Threshold = m.Threshold
	}
	if c.Policy.Margin == 0 {
		c.Policy.Margin = m.Margin
	}
	return c, nil
}

// Validate reports the first setting that makes no sense.
func (c Config) Validate() error {
	m, err := c.Model()
	if err != nil {
		return err
	}
	maxDistance := float32(1.5) // euclidean, dlib
	if m.Metric == faces.Cosine {
		maxDistance = 2
	}
	switch {
	case bus.Gate(c.ID).Validate() != nil:
		return fmt.Errorf("--id %q: must be 1 to 64 letters, digits, - or _ (it names the gate's NATS identity and subjects)", c.ID)
	case c.Direction != "entry" && c.Direction != "exit":
		return fmt.Errorf("--direction %q: want entry or exit", c.Direction)
	case c.Detector != "" && !slices.Contains(faces.Detectors(), c.Detector):
		return fmt.Errorf("--detector %q: want one of %s", c.Detector, strings.Join(faces.Detectors(), ", "))
	case c.Mode != ModeFace && c.Mode != ModeVerify && c.Mode != ModeFaceOrQR:
		return fmt.Errorf("--mode %q: want face, verify or face-or-qr", c.Mode)
	case c.TrustEnroll == "" || c.TrustAdmin == "":
		return fmt.Errorf("--trust-enroll and --trust-admin are required: a gate acts only on what enroll and admin signed")
	case c.OfflinePolicy != "allow" && c.OfflinePolicy != "deny":
		return fmt.Errorf("--offline-policy %q: want allow or deny", c.OfflinePolicy)
	case c.DiskFullPolicy != "allow" && c.DiskFullPolicy != "deny":
		return fmt.Errorf("--disk-full-policy %q: want allow or deny", c.DiskFullPolicy)
	case c.ClaimTimeout <= 0 || c.ClaimWait < c.ClaimTimeout:
		return fmt.Errorf("--claim-timeout %v, --claim-wait %v: want 0 < claim-timeout <= claim-wait", c.ClaimTimeout, c.ClaimWait)
	case c.Pulse < 100*time.Millisecond:
		return fmt.Errorf("--pulse %v: turnstiles need at least 100ms", c.Pulse)
	case c.Policy.Threshold < 0 || c.Policy.Threshold >= maxDistance:
		return fmt.Errorf("--threshold %v: want a %v distance from 0 to %v (0: the model's default)", c.Policy.Threshold, m.Metric, maxDistance)
	case c.Policy.Margin < 0 || c.Policy.Margin >= maxDistance:
		return fmt.Errorf("--margin %v: want a %v distance from 0 to %v (0: the model's default)", c.Policy.Margin, m.Metric, maxDistance)
	case c.Policy.Agree < 1 || c.Policy.Window < c.Policy.Agree:
		return fmt.Errorf("--agree %d of --window %d: want 1 <= agree <= window", c.Policy.Agree, c.Policy.Window)
	case (c.TLSCert == "") != (c.TLSKey == ""):
		return fmt.Errorf("--tls-cert and --tls-key go together")
	case c.AdmissionsRetention < 24*time.Hour:
		return fmt.Errorf("--admissions-retention %v: at least 24h, so a day's decisions can be looked into on the gate", c.AdmissionsRetention)
	}
	return nil
}

func (c Config) direction() sgpb.Direction {
	if c.Direction == "exit" {
		return sgpb.Direction_DIRECTION_EXIT
	}
	return sgpb.Direction_DIRECTION_ENTRY
}
