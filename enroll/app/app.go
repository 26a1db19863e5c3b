// Package app assembles the enroll program from its parts: the store, the
// face engine, NATS (embedded or external), the publisher, the purge job and
// the HTTP API. main only parses flags and calls it; tests start the same
// program in-process.
package app

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/enroll/api"
	"github.com/scenicgate/scenicgate/enroll/keys"
	"github.com/scenicgate/scenicgate/enroll/publish"
	"github.com/scenicgate/scenicgate/enroll/service"
	"github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/config"
	"github.com/scenicgate/scenicgate/internal/disk"
	"github.com/scenicgate/scenicgate/internal/httpserve"
	"github.com/scenicgate/scenicgate/internal/signed"
	"github.com/scenicgate/scenicgate/models/faces"
)

// Config is everything enroll can be told on its command line.
type Config struct {
	Data   string
	Listen string
	// TLSCert and TLSKey, when set, make the API speak HTTPS.
	TLSCert, TLSKey string
	NATS            bus.Options
	// Retention bounds how long NATS keeps admissions and entry claims.
	Retention  bus.Retention
	NATSListen string // the embedded server's address, when NATS.URL is empty
	Models     string
	// FaceModels are the embedding models every face is described with,
	// comma-separated; empty means every model installed in Models.
	FaceModels string
	// Detector is the face detector (faces.Detectors); gates must find
	// faces with the same one, since it decides how the ONNX models'
	// faces are aligned.
	Detector      string
	Workers       int
	TimeZone      string
	MaxBody       int64
	PurgeInterval time.Duration
	Service       service.Config
	// Engine, when set, is used instead of opening one; App does not close
	// it. Tests share one engine this way.
	Engine *faces.Engine
}

// DefaultConfig returns the defaults printed by --help.
func DefaultConfig() Config {
	return Config{
		Data:          "var/enroll",
		Listen:        "127.0.0.1:8081",
		NATSListen:    "127.0.0.1:4222",
		Models:        "models",
		Detector:      faces.DefaultDetector,
		Workers:       0,
		TimeZone:      "Asia/Shanghai",
		MaxBody:       api.DefaultMaxBody,
		PurgeInterval: time.Hour,
		Retention:     bus.DefaultRetention(),
		Service:       service.DefaultConfig(),
	}
}

// Validate reports a configuration enroll cannot run with.
func (c Config) Validate() error {
	if (c.TLSCert == "") != (c.TLSKey == "") {
		return errors.New("--tls-cert and --tls-key go together")
	}
	if c.Retention.Admissions < 24*time.Hour {
		return fmt.Errorf("--admissions-max-age %v: at least 24h, so admin can take in a day's admissions after an outage", c.Retention.Admissions)
	}
	if c.Retention.Redemptions < 48*time.Hour {
		return fmt.Errorf("--redemptions-max-age %v: at least 48h, so a claim outlives a ticket sold for today", c.Retention.Redemptions)
	}
	return nil
}

// maxDaysAhead is how many days after today a ticket's last day may be:
// the service's limit, lowered so that an entry claim made today outlives
// the ticket by the REDEMPTIONS retention. A ticket ends at most
// days+1 days (and an hour of daylight saving) after it is sold.
func (c Config) maxDaysAhead() int {
	days := int((c.Retention.Redemptions-time.Hour)/(24*time.Hour)) - 1
	return min(c.Service.MaxDaysAhead, days)
}

// RegisterFlags binds the serving flags to c.
func (c *Config) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.Data, "data", c.Data, "folder for enroll.db, the signing keys, the NATS users and the embedded NATS store")
	fs.StringVar(&c.Listen, "listen", c.Listen, "HTTP address of the API (any address but loopback needs --tls-cert)")
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "TLS certificate file (PEM, with its chain); serve HTTPS with --tls-key")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "TLS key file (PEM)")
	c.NATS.RegisterFlags(fs, "NATS server URL(s), comma-separated; empty starts an embedded server")
	// With no --nats, the TLS certificate and key are the embedded server's.
	fs.Lookup("nats-tls-cert").Usage = "client certificate for NATS over TLS; with no --nats, the embedded server's certificate"
	fs.Lookup("nats-tls-key").Usage = "client key for NATS over TLS; with no --nats, the embedded server's key"
	fs.StringVar(&c.NATSListen, "nats-listen", c.NATSListen, "address of the embedded NATS server (used when --nats is empty); beyond loopback, serve it with --nats-tls-cert")
	fs.StringVar(&c.Models, "models", c.Models, "folder with the model files (make models)")
	fs.StringVar(&c.FaceModels, "face-models", c.FaceModels, "embedding models to describe every face with, comma-separated (empty: every one installed), so gates can change model without enrolling again")
	fs.StringVar(&c.Detector, "detector", c.Detector, "face detector, the gates' too: "+strings.Join(faces.Detectors(), ", "))
	fs.IntVar(&c.Workers, "workers", c.Workers, "face engine workers (0: one per CPU)")
	fs.StringVar(&c.TimeZone, "site-tz", c.TimeZone, "the site's time zone: ticket days start at its midnight")
	fs.Int64Var(&c.MaxBody, "max-body", c.MaxBody, "largest accepted request body in bytes")
	fs.DurationVar(&c.PurgeInterval, "purge-interval", c.PurgeInterval, "how often ended tickets are purged")
	fs.DurationVar(&c.Retention.Admissions, "admissions-max-age", c.Retention.Admissions, "how long NATS keeps gate decisions in the ADMISSIONS stream (admin keeps its own copy)")
	fs.DurationVar(&c.Retention.Redemptions, "redemptions-max-age", c.Retention.Redemptions, "how long NATS keeps entry claims in REDEMPTIONS; tickets may end at most this long (less a day) after they are sold")
	fs.BoolVar(&c.Service.KeepPhotos, "keep-photos", c.Service.KeepPhotos, "keep enrollment photos (default: descriptors only)")
	fs.DurationVar(&c.Service.Retention, "retention", c.Service.Retention, "keep face data this long after a ticket ends (0: purge at once)")
	fs.BoolVar(&c.Service.EraseOnRevoke, "erase-on-revoke", c.Service.EraseOnRevoke, "erase a ticket's faces when it is revoked")
	config.Float32Var(fs, &c.Service.DuplicateDistance, "duplicate-distance", "report a new face this close to another order's active ticket, by the gates' default model if enroll runs it (0: that model's gate threshold; negative: off)")
	fs.BoolVar(&c.Service.RejectDuplicates, "reject-duplicates", c.Service.RejectDuplicates, "refuse, rather than report, such faces")
	q := &c.Service.Quality
	fs.Float64Var(&q.MinSharpness, "min-sharpness", q.MinSharpness, "refuse a photo whose face is less sharp than this (face_blurred; variance of the Laplacian on the aligned face; 0: off)")
	fs.Float64Var(&q.MaxYaw, "max-yaw", q.MaxYaw, "refuse a photo whose face is turned to the side by more degrees than this (face_not_frontal; 0: off)")
	fs.Float64Var(&q.MaxRoll, "max-roll", q.MaxRoll, "refuse a photo whose head is tilted by more degrees than this (face_not_frontal; 0: off)")
	config.Float32Var(fs, &q.SamePersonDistance, "same-person-distance", "refuse a visitor's photos when two are farther apart than this by the duplicate model (different_people; 0: off)")
}

// App is a running enroll.
type App struct {
	cfg       Config
	log       *slog.Logger
	store     *store.Store
	engine    *faces.Engine
	ownEngine bool
	embedded  *bus.Embedded
	registry  *bus.Registry
	nc        *nats.Conn
	js        jetstream.JetStream
	publisher *publish.Publisher
	svc       *service.Service
	api       *api.Server
	keys      *keys.Keys

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
}

// New opens everything enroll needs and starts its background work (the
// publisher and the purge job). Close stops it.
func New(ctx context.Context, cfg Config, log *slog.Logger) (a *App, err error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg.Service.MaxDaysAhead = cfg.maxDaysAhead()
	loc, err := time.LoadLocation(cfg.TimeZone)
	if err != nil {
		return nil, fmt.Errorf("site time zone %q: %w", cfg.TimeZone, err)
	}
	cfg.Service.Site.Location = loc
	a = &App{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			a.Close()
		}
	}()
	if a.store, err = store.Open(ctx, cfg.Data); err != nil {
		return nil, err
	}
	if a.engine = cfg.Engine; a.engine == nil {
		if a.engine, err = OpenEngine(cfg.Models, cfg.FaceModels, cfg.Detector, cfg.Workers); err != nil {
			return nil, err
		}
		a.ownEngine = true
	}
	a.reportMissingModels(ctx)
	if a.keys, err = keys.Open(cfg.Data); err != nil {
		return nil, err
	}
	if _, err := a.republishIfSignerChanged(ctx); err != nil {
		return nil, err
	}
	a.registry = bus.OpenRegistry(RegistryPath(cfg.Data))
	if err := a.connect(ctx); err != nil {
		return nil, err
	}
	a.publisher = publish.New(a.store, a.js, a.keys.Signer(), log)
	if a.svc, err = service.New(ctx, cfg.Service, a.store, a.engine, a.keys, log, a.publisher.Wake); err != nil {
		return nil, err
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), a.outboxGauge())
	a.api = api.New(a.svc, a.store, log, cfg.MaxBody, a.health, reg)

	bg, cancel := context.WithCancel(context.Background())
	a.cancel = cancel
	a.wg.Add(3)
	go func() { defer a.wg.Done(); a.publisher.Run(bg, time.Second) }()
	go func() { defer a.wg.Done(); a.svc.RunPurge(bg, cfg.PurgeInterval) }()
	go func() { defer a.wg.Done(); a.publishQRKeys(bg, QRKeysInterval) }()
	if a.embedded != nil {
		a.wg.Add(1)
		go func() { defer a.wg.Done(); a.followRegistry(bg, RegistryInterval) }()
	}
	return a, nil
}

// signedByFile records, in the data folder, the key id the bucket's
// entitlements were last all signed with.
const signedByFile = "entitlements-signed-by"

// republishIfSignerChanged queues every ticket for publishing again when
// the signing key is not the one the bucket's values were signed with: on
// the first start of a version that signs (the bucket holds unsigned
// values, which gates refuse), and after the key was replaced. It returns
// how many tickets it queued.
func (a *App) republishIfSignerChanged(ctx context.Context) (int, error) {
	path := filepath.Join(a.cfg.Data, signedByFile)
	id := a.keys.Signer().KeyID()
	if b, err := os.ReadFile(path); err == nil && strings.TrimSpace(string(b)) == id {
		return 0, nil
	}
	n, err := a.store.RepublishAll(ctx)
	if err != nil {
		return 0, err
	}
	if n > 0 {
		a.log.Info("republishing every ticket, signed with enroll's key", "tickets", n, "key", id)
	}
	return n, os.WriteFile(path, []byte(id+"\n"), 0o600)
}

// RegistryPath is where enroll keeps the NATS users it issued credentials
// to, in its data folder.
func RegistryPath(data string) string { return filepath.Join(data, "nats-users.json") }

// connect starts the embedded server when no URL is given, connects and
// provisions the JetStream assets. With an external server that is down, it
// carries on: the outbox keeps changes until NATS is back.
//
// The embedded server takes the users in the registry (`enroll
// credentials`), and enroll itself logs in to it in process, with a key
// made for this run.
func (a *App) connect(ctx context.Context) error {
	opts := a.cfg.NATS
	var err error
	if opts.URL == "" {
		users, err := a.registry.Users()
		if err != nil {
			return err
		}
		e, err := bus.StartEmbedded(bus.EmbeddedConfig{
			Dir: filepath.Join(a.cfg.Data, "nats"), Listen: a.cfg.NATSListen, Users: users, Self: bus.Enroll(),
			TLSCert: opts.TLSCert, TLSKey: opts.TLSKey,
		}, a.log)
		if err != nil {
			return err
		}
		a.embedded = e
		a.log.Info("other programs connect with --nats "+e.URL()+" and --nats-creds from `enroll credentials create`",
			"users", len(users))
		a.nc, err = e.Connect(a.log)
	} else {
		a.nc, err = bus.Connect(opts, bus.Enroll(), a.log)
	}
	if err != nil {
		return err
	}
	if a.js, err = jetstream.New(a.nc); err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := bus.ProvisionWith(pctx, a.js, opts.Replicas, a.cfg.Retention); err != nil {
		a.log.Warn("NATS not ready; changes wait in the outbox", "err", err)
	}
	return nil
}

// RegistryInterval is how often enroll looks for credentials issued or
// revoked on the command line, to apply them to its embedded server.
const RegistryInterval = 2 * time.Second

// followRegistry keeps the embedded server's users equal to the registry's
// until ctx ends: credentials issued with `enroll credentials create` work
// within RegistryInterval, revoked ones stop working as fast, and their
// connections are closed.
func (a *App) followRegistry(ctx context.Context, every time.Duration) {
	last, _ := a.registry.Keys()
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		keys, err := a.registry.Keys()
		if err != nil {
			a.log.Error("reading the NATS users", "err", err)
			continue
		}
		if slices.Equal(keys, last) {
			continue
		}
		if err := a.embedded.SetUsers(bus.UsersOf(keys)); err != nil {
			a.log.Error("applying the NATS users", "err", err)
			continue
		}
		a.log.Info("NATS users changed", "users", len(keys))
		last = keys
	}
}

// QRKeysInterval is how often enroll works out the QR key set again: a
// retired key leaves it once the last ticket it signed has ended, and a
// rotation made on the command line joins it.
const QRKeysInterval = 2 * time.Second

// publishQRKeys keeps the QR key set, signed with enroll's key, where gates
// find it, until ctx ends. It puts it at start, when it changes and after a
// failure.
func (a *App) publishQRKeys(ctx context.Context, every time.Duration) {
	var published []byte
	for {
		set, err := a.keys.QRKeySet(time.Now(), func(before time.Time) (time.Time, error) {
			return a.store.LastValidUntil(ctx, before)
		})
		if err == nil {
			var payload []byte
			if payload, err = proto.Marshal(set); err == nil && !bytes.Equal(payload, published) {
				if err = a.putQRKeys(ctx, payload); err == nil {
					published = payload
					a.log.Info("QR verification keys published", "keys", len(set.Keys))
				}
			}
		}
		if err != nil && ctx.Err() == nil {
			a.log.Warn("QR verification keys not published yet", "err", err)
		}
		wait := every
		if published == nil {
			wait = min(every, 2*time.Second)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
	}
}

// OpenEngine opens the face engine with the models named in list
// (comma-separated; empty: every model installed in dir) and detector
// (empty: the default).
func OpenEngine(dir, list, detector string, workers int) (*faces.Engine, error) {
	var names []string
	for _, n := range strings.Split(list, ",") {
		if n = strings.TrimSpace(n); n != "" {
			names = append(names, n)
		}
	}
	return faces.Open(faces.Config{ModelDir: dir, Models: names, Detector: detector, Workers: workers})
}

// reportMissingModels says, for each model enroll runs, how many enrolled
// faces have no descriptor from it: enrolled before the model was added.
// Gates matching with that model cannot recognise those visitors.
func (a *App) reportMissingModels(ctx context.Context) {
	now := time.Now().UnixMilli()
	for _, m := range a.engine.Models() {
		lacking, withoutPhoto, err := a.store.CountFacesLacking(ctx, m.Name, a.engine.Alignment(m.Name), now)
		if err != nil || lacking == 0 {
			continue
		}
		a.log.Warn("faces enrolled before this model or detector was chosen have no descriptor from it aligned as enroll aligns; gates matching with it admit these visitors by QR code only",
			"model", m.Name, "alignment", a.engine.Alignment(m.Name), "faces", lacking, "without_kept_photo", withoutPhoto,
			"fix", "enroll faces recompute --model "+m.Name+" (faces with kept photos); the others must enroll again")
	}
	a.log.Info("describing faces with", "models", strings.Join(a.svcModelNames(), ","))
}

func (a *App) svcModelNames() []string {
	var names []string
	for _, m := range a.engine.Models() {
		names = append(names, m.Name)
	}
	return names
}

func (a *App) putQRKeys(ctx context.Context, payload []byte) error {
	kv, err := a.js.KeyValue(ctx, bus.BucketSite)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		// NATS was down at start, so provisioning has not happened.
		if err = bus.ProvisionWith(ctx, a.js, a.cfg.NATS.Replicas, a.cfg.Retention); err == nil {
			kv, err = a.js.KeyValue(ctx, bus.BucketSite)
		}
	}
	if err != nil {
		return err
	}
	pctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	_, err = kv.Put(pctx, bus.KeyQRPublicKeys, a.keys.Signer().Sign(signed.QRKeys, payload, time.Now()))
	return err
}

func (a *App) outboxGauge() prometheus.Collector {
	return prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "scenicgate_enroll_outbox_depth", Help: "Ticket changes not yet published to NATS.",
	}, func() float64 {
		n, _ := a.store.OutboxDepth(context.Background())
		return float64(n)
	})
}

// outboxLate is how long publishing may fail, with ticket changes waiting,
// before health reports it.
const outboxLate = 30 * time.Second

// health reports enroll's faults, each with its reason: the database, the
// disk, the NATS connection and JetStream (a cluster without quorum keeps
// the connection but takes no ticket), and an outbox that is not draining.
// Any fault makes /healthz answer 503.
func (a *App) health(ctx context.Context) (map[string]any, error) {
	depth, err := a.store.OutboxDepth(ctx)
	detail := map[string]any{"outbox_depth": depth, "nats": a.nc.Status().String()}
	if err != nil {
		return detail, fmt.Errorf("database: %w", err)
	}
	var faults []string
	if f := disk.Fault(a.cfg.Data); f != "" {
		faults = append(faults, f)
	}
	if a.nc.Status() != nats.CONNECTED {
		faults = append(faults, "nats: disconnected; ticket changes wait in the outbox")
	} else if err := a.jetStreamAnswers(ctx); err != nil {
		faults = append(faults, fmt.Sprintf("nats: JetStream unavailable (%v); ticket changes wait in the outbox", err))
	}
	if since, err := a.publisher.Failing(); depth > 0 && !since.IsZero() && time.Since(since) > outboxLate {
		faults = append(faults, fmt.Sprintf("outbox: %d ticket changes not published for %v (%v)",
			depth, time.Since(since).Round(time.Second), err))
	}
	if len(faults) > 0 {
		detail["faults"] = faults
		return detail, errors.New(strings.Join(faults, "; "))
	}
	return detail, nil
}

// jetStreamAnswers asks for the account's JetStream state, which only a
// JetStream with a quorum answers (a node left alone still describes the
// streams it holds, so a stream's state tells nothing).
func (a *App) jetStreamAnswers(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err := a.js.AccountInfo(ctx)
	return err
}

// Handler returns the HTTP API.
func (a *App) Handler() http.Handler { return a.api.Handler() }

// Service returns the operations, for the command line and tests.
func (a *App) Service() *service.Service { return a.svc }

// Store returns the database, for the command line and tests.
func (a *App) Store() *store.Store { return a.store }

// NATSURL returns the URL other programs reach NATS at: the embedded
// server's, or the one enroll connected to.
func (a *App) NATSURL() string {
	if a.embedded != nil {
		return a.embedded.URL()
	}
	return a.nc.ConnectedUrl()
}

// Keys returns enroll's signing keys.
func (a *App) Keys() *keys.Keys { return a.keys }

// Publisher returns the outbox publisher.
func (a *App) Publisher() *publish.Publisher { return a.publisher }

// Serve answers HTTP (HTTPS with --tls-cert) on l until ctx ends, then
// shuts down gracefully, giving requests in flight up to 10 seconds. Plain
// HTTP on an address other machines reach is served with a warning: API
// keys and face photos would cross the network in clear text.
func (a *App) Serve(ctx context.Context, l net.Listener) error {
	srv := &http.Server{Handler: a.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(a.log.Handler(), slog.LevelWarn)} // TLS handshake failures, among others
	tls := a.cfg.TLSCert != ""
	httpserve.WarnIfPlain(a.log, l, tls)
	a.log.Info("enroll API listening", "addr", l.Addr().String(), "tls", tls)
	return httpserve.Serve(ctx, srv, l, a.cfg.TLSCert, a.cfg.TLSKey, 10*time.Second)
}

// Close stops the background work and closes everything, the embedded NATS
// server last. Safe to call twice.
func (a *App) Close() error {
	var err error
	a.closeOnce.Do(func() {
		if a.cancel != nil {
			a.cancel()
		}
		a.wg.Wait()
		if a.publisher != nil {
			// One last attempt, so a clean shutdown leaves nothing queued.
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			a.publisher.Drain(ctx)
			cancel()
		}
		if a.nc != nil {
			a.nc.Drain()
			a.nc.Close()
		}
		if a.embedded != nil {
			a.embedded.Shutdown()
		}
		if a.engine != nil && a.ownEngine {
			err = errors.Join(err, a.engine.Close())
		}
		if a.store != nil {
			err = errors.Join(err, a.store.Close())
		}
	})
	return err
}
