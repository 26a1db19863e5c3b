package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"google.golang.org/protobuf/proto"

	"github.com/scenicgate/scenicgate/hardware/relay/relaysim"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/models/faces"
	"github.com/scenicgate/scenicgate/proto/sgpb"
)

type settings struct {
	bin, data, photos, models string
	faceModel                 string
	enrollAddr, adminAddr     string
	natsAddr                  string
	fps                       float64
	gatePort                  int
	user, password            string
	// cluster runs NATS as a cluster of that many nats-server nodes
	// instead of enroll's embedded server; 0: embedded.
	cluster    int
	natsServer string
}

func defaultConfig() settings {
	return settings{
		bin: "bin", data: "var/demo", photos: "testdata", models: "models", faceModel: faces.DefaultModel,
		enrollAddr: "127.0.0.1:8081", adminAddr: "127.0.0.1:8080", natsAddr: "127.0.0.1:4222",
		fps: 2, gatePort: 8091, user: "demo", password: "scenicgate-demo",
	}
}

func (c *settings) registerFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.bin, "bin", c.bin, "folder with the enroll, gate and admin programs")
	fs.StringVar(&c.data, "data", c.data, "folder for the demo's data (emptied at start)")
	fs.StringVar(&c.photos, "photos", c.photos, "folder with the test photos")
	fs.StringVar(&c.models, "models", c.models, "folder with the model files (make models)")
	fs.StringVar(&c.faceModel, "face-model", c.faceModel, "the embedding model the gates match with")
	fs.StringVar(&c.enrollAddr, "enroll-listen", c.enrollAddr, "enroll's HTTP address")
	fs.StringVar(&c.adminAddr, "admin-listen", c.adminAddr, "admin's HTTP address")
	fs.StringVar(&c.natsAddr, "nats-listen", c.natsAddr, "the embedded NATS server's address")
	fs.Float64Var(&c.fps, "camera-fps", c.fps, "frames per second of the demo cameras")
	fs.IntVar(&c.gatePort, "gate-port", c.gatePort, "the first gate's status port on 127.0.0.1; the second gets the next (0: any free port)")
	fs.StringVar(&c.user, "user", c.user, "admin login created for the demo")
	fs.StringVar(&c.password, "password", c.password, "its password")
	fs.IntVar(&c.cluster, "cluster", c.cluster, "run NATS as a cluster of this many nats-server nodes (3), on --nats-listen's port and the next ones, with a replica of everything on each (0: enroll's embedded server)")
	fs.StringVar(&c.natsServer, "nats-server", c.natsServer, "the nats-server program for --cluster, of the version go.mod pins (make bin/nats-server; default: nats-server in --bin)")
}

type demo struct {
	cfg   settings
	out   io.Writer
	mu    sync.Mutex
	procs []*exec.Cmd
	sims  []*relaysim.Sim
	names map[string]string // ticket id → visitor name
}

// lane describes one demo gate and what its camera shows.
type lane struct {
	id, direction, mode string
	frames              []string // photo names, each shown for several frames
}

var lanes = []lane{
	{id: "north-1", direction: "entry", mode: "face-or-qr", frames: []string{"obama2.jpg", "biden.jpg", "obama3.jpg"}},
	{id: "north-2", direction: "entry", mode: "face", frames: []string{"obama.jpg", "biden.jpg"}},
}

func (d *demo) run(ctx context.Context) error {
	c := d.cfg
	if err := os.RemoveAll(c.data); err != nil {
		return err
	}
	enrollData := filepath.Join(c.data, "enroll")
	adminData := filepath.Join(c.data, "admin")
	key, err := d.output(ctx, "enroll", "apikey", "create", "--name", "demo-shop", "--scope", "shop", "--data", enrollData)
	if err != nil {
		return err
	}
	adminKey, err := d.output(ctx, "enroll", "apikey", "create", "--name", "admin", "--scope", "staff", "--data", enrollData)
	if err != nil {
		return err
	}
	if _, err := d.output(ctx, "admin", "user", "add", "--role", "admin", "--password", c.password, "--data", adminData, c.user); err != nil {
		return err
	}
	// Every program has its own NATS identity; enroll issues them.
	adminCreds, err := d.credentials(ctx, enrollData, "admin", "--role", "admin")
	if err != nil {
		return err
	}
	gateCreds := map[string]string{}
	for _, l := range lanes {
		if gateCreds[l.id], err = d.credentials(ctx, enrollData, "gate-"+l.id, "--role", "gate", "--id", l.id); err != nil {
			return err
		}
	}
	// Gates act only on what enroll and admin signed, with the keys they
	// are given here, not over the bus.
	enrollPub, err := d.output(ctx, "enroll", "public-key", "--data", enrollData)
	if err != nil {
		return err
	}
	adminPub, err := d.output(ctx, "admin", "public-key", "--data", adminData)
	if err != nil {
		return err
	}
	trust := []string{"--trust-enroll", strings.TrimSpace(enrollPub), "--trust-admin", strings.TrimSpace(adminPub)}
	natsURL := "nats://" + c.natsAddr
	enrollNATS := []string{"--nats-listen", c.natsAddr}
	replicas := "1"
	if c.cluster > 0 {
		// enroll's own credentials too, before the nodes' configuration
		// is printed with every user in it.
		enrollCreds, err := d.credentials(ctx, enrollData, "enroll", "--role", "enroll")
		if err != nil {
			return err
		}
		if natsURL, err = d.startCluster(ctx, enrollData); err != nil {
			return err
		}
		replicas = fmt.Sprint(c.cluster)
		enrollNATS = []string{"--nats", natsURL, "--nats-creds", enrollCreds, "--nats-replicas", replicas}
	}
	if err := d.start(ctx, "enroll", append([]string{"--data", enrollData, "--listen", c.enrollAddr, "--models", c.models}, enrollNATS...)...); err != nil {
		return err
	}
	if err := waitHTTP(ctx, "http://"+c.enrollAddr+"/healthz", 60*time.Second); err != nil {
		return fmt.Errorf("enroll did not start: %w", err)
	}
	if err := d.start(ctx, "admin", "--data", adminData, "--listen", c.adminAddr, "--nats", natsURL, "--nats-creds", adminCreds,
		"--nats-replicas", replicas, "--enroll-url", "http://"+c.enrollAddr, "--enroll-key", strings.TrimSpace(adminKey)); err != nil {
		return err
	}
	d.names = map[string]string{}
	if err := d.enrollTickets(ctx, strings.TrimSpace(key)); err != nil {
		return err
	}
	for i, l := range lanes {
		if err := d.startGate(ctx, i, l, append([]string{"--nats", natsURL, "--nats-creds", gateCreds[l.id], "--nats-replicas", replicas}, trust...)); err != nil {
			return err
		}
	}
	if err := waitHTTP(ctx, "http://"+c.adminAddr+"/login", 30*time.Second); err != nil {
		return fmt.Errorf("admin did not start: %w", err)
	}
	fmt.Fprintf(d.out, "\nScenicGate demo is running.\n  admin:  http://%s  (login %s / %s)\n  enroll: http://%s/api/v1  (API key %s)\n  NATS:   %s  (each program with its own credentials, %s)\n  faces:  gates match with %s\nGate decisions follow; Ctrl-C stops everything.\n\n",
		c.adminAddr, c.user, c.password, c.enrollAddr, strings.TrimSpace(key), natsURL, filepath.Join(c.data, "*.creds"), c.faceModel)
	return d.printDecisions(ctx, bus.Options{URL: natsURL, CredsFile: adminCreds})
}

// startCluster starts c.cluster nats-server nodes, each on the
// configuration `enroll nats-config` prints for it: clients on
// --nats-listen's port and the next ones, routes 1000 ports above. The
// credentials issued so far are in it; it returns the client URLs.
func (d *demo) startCluster(ctx context.Context, enrollData string) (string, error) {
	host, portText, err := net.SplitHostPort(d.cfg.natsAddr)
	if err != nil {
		return "", err
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port == 0 {
		return "", fmt.Errorf("--cluster needs a fixed --nats-listen port, not %q", d.cfg.natsAddr)
	}
	var clients, routes []string
	for i := range d.cfg.cluster {
		clients = append(clients, net.JoinHostPort(host, fmt.Sprint(port+i)))
		routes = append(routes, net.JoinHostPort(host, fmt.Sprint(port+1000+i)))
	}
	server := d.cfg.natsServer
	if server == "" {
		server = filepath.Join(d.cfg.bin, "nats-server")
	}
	var urls []string
	for i := range d.cfg.cluster {
		name := fmt.Sprintf("n%d", i+1)
		conf, err := d.output(ctx, "enroll", "nats-config", "--data", enrollData, "--server-name", name, "--listen", clients[i],
			"--store-dir", filepath.Join(d.cfg.data, "nats-"+name), "--routes", strings.Join(routes, ","), "--cluster-listen", routes[i])
		if err != nil {
			return "", err
		}
		file := filepath.Join(d.cfg.data, "nats-"+name+".conf")
		if err := os.WriteFile(file, []byte(conf), 0o600); err != nil {
			return "", err
		}
		if err := d.startProgram(ctx, server, "nats-"+name, "-c", file); err != nil {
			return "", err
		}
		urls = append(urls, "nats://"+clients[i])
	}
	return strings.Join(urls, ","), nil
}

// credentials issues NATS credentials with `enroll credentials create` and
// keeps them in the demo's data folder as name.creds, readable by the owner
// only. It returns the file's path.
func (d *demo) credentials(ctx context.Context, enrollData, name string, args ...string) (string, error) {
	creds, err := d.output(ctx, "enroll", append([]string{"credentials", "create", "--data", enrollData}, args...)...)
	if err != nil {
		return "", err
	}
	path := filepath.Join(d.cfg.data, name+".creds")
	return path, os.WriteFile(path, []byte(creds), 0o600)
}

// output runs a program to completion and returns what it printed.
func (d *demo) output(ctx context.Context, prog string, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(d.cfg.bin, prog), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s %s: %v: %s", prog, strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return string(out), nil
}

// start runs a program in the background, its log in the data folder.
func (d *demo) start(ctx context.Context, prog string, args ...string) error {
	name := prog
	for i, a := range args {
		if a == "--id" && i+1 < len(args) {
			name = prog + "-" + args[i+1]
		}
	}
	return d.startProgram(ctx, filepath.Join(d.cfg.bin, prog), name, args...)
}

// startProgram runs the program at path in the background as name, its
// log in the data folder.
func (d *demo) startProgram(ctx context.Context, path, name string, args ...string) error {
	prog := filepath.Base(path)
	logFile, err := os.Create(filepath.Join(d.cfg.data, name+".log"))
	if err != nil {
		return err
	}
	cmd := exec.Command(path, args...)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", prog, err)
	}
	d.mu.Lock()
	d.procs = append(d.procs, cmd)
	d.mu.Unlock()
	fmt.Fprintf(d.out, "started %-14s (log %s)\n", name, logFile.Name())
	return nil
}

// stopAll stops the programs in reverse order with SIGTERM, so gates flush
// their outboxes before enroll takes the NATS server down.
func (d *demo) stopAll() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for i := len(d.procs) - 1; i >= 0; i-- {
		p := d.procs[i]
		p.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { p.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			p.Process.Kill()
			<-done
		}
	}
	for _, s := range d.sims {
		s.Close()
	}
}

// startGate starts the gate of lane l; natsFlags are its NATS and trust flags.
func (d *demo) startGate(ctx context.Context, i int, l lane, natsFlags []string) error {
	simDir := filepath.Join(d.cfg.data, "relay-"+l.id)
	if err := os.MkdirAll(simDir, 0o755); err != nil {
		return err
	}
	sim, err := relaysim.Start(simDir)
	if err != nil {
		return err
	}
	d.sims = append(d.sims, sim)
	cam := filepath.Join(d.cfg.data, "camera-"+l.id)
	if err := os.MkdirAll(cam, 0o755); err != nil {
		return err
	}
	// Each person stays in front of the camera for a few frames, as a
	// visitor does at a turnstile.
	n := 0
	for _, photo := range l.frames {
		src, err := filepath.Abs(filepath.Join(d.cfg.photos, photo))
		if err != nil {
			return err
		}
		for k := 0; k < 4; k++ {
			n++
			if err := os.Symlink(src, filepath.Join(cam, fmt.Sprintf("%03d-%s", n, photo))); err != nil {
				return err
			}
		}
	}
	go d.printRelay(ctx, l.id, sim)
	// The test photos are portraits of a few hundred pixels, smaller than
	// a camera's frames: their faces are as large as a 640x480 camera's,
	// for which the README gives --min-face 80.
	return d.start(ctx, "gate", append(natsFlags, "--id", l.id, "--zone", "main", "--direction", l.direction, "--mode", l.mode,
		"--camera", cam, "--camera-fps", fmt.Sprint(d.cfg.fps), "--relay", "lcus:"+sim.Path(), "--min-face", "80",
		"--data", filepath.Join(d.cfg.data, "gate-"+l.id), "--models", d.cfg.models, "--face-model", d.cfg.faceModel,
		"--listen", d.gateListen(i), "--workers", "1")...)
}

func (d *demo) gateListen(i int) string {
	if d.cfg.gatePort == 0 {
		return "127.0.0.1:0"
	}
	return fmt.Sprintf("127.0.0.1:%d", d.cfg.gatePort+i)
}

func (d *demo) printRelay(ctx context.Context, gate string, sim *relaysim.Sim) {
	seen := 0
	for ctx.Err() == nil {
		events, err := sim.WaitEvents(ctx, seen+1)
		if err != nil {
			return
		}
		for _, e := range events[seen:] {
			if e.On {
				fmt.Fprintf(d.out, "  %s relay: % X (turnstile open)\n", gate, e.Raw)
			}
		}
		seen = len(events)
	}
}

type visitor struct {
	name, photo, ticketType string
}

// enrollTickets enrolls the demo visitors through the enroll API, as a
// ticket shop would.
func (d *demo) enrollTickets(ctx context.Context, key string) error {
	today := rules.Site{}.Day(time.Now()).String()
	visitors := []visitor{
		{"奥巴马 (day pass)", "obama.jpg", "day_pass"},
	}
	for i, v := range visitors {
		photo, err := os.ReadFile(filepath.Join(d.cfg.photos, v.photo))
		if err != nil {
			return err
		}
		body, _ := json.Marshal(map[string]any{
			"order_id": fmt.Sprintf("demo-%d", i+1), "consent": true,
			"visitors": []any{map[string]any{"name": v.name, "ticket_type": v.ticketType, "valid_from": today,
				"zones": []string{"main"}, "photos": [][]byte{photo}}},
		})
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+d.cfg.enrollAddr+"/api/v1/tickets", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		var out struct {
			Tickets []struct {
				TicketID string `json:"ticket_id"`
			} `json:"tickets"`
		}
		json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if resp.StatusCode != http.StatusCreated || len(out.Tickets) != 1 {
			return fmt.Errorf("enrolling %s: status %d", v.name, resp.StatusCode)
		}
		d.names[out.Tickets[0].TicketID] = v.name
		fmt.Fprintf(d.out, "enrolled %s from %s: ticket %s\n", v.name, v.photo, out.Tickets[0].TicketID)
	}
	fmt.Fprintln(d.out, "not enrolled: the visitor in biden.jpg (the gates deny him as unknown)")
	return nil
}

// printDecisions follows the ADMISSIONS stream, with admin's credentials:
// reading admissions is admin's work.
func (d *demo) printDecisions(ctx context.Context, opts bus.Options) error {
	nc, err := bus.Connect(opts, bus.Admin(), nil)
	if err != nil {
		return err
	}
	defer nc.Close()
	js, err := jetstream.New(nc)
	if err != nil {
		return err
	}
	// On a cluster, enroll may still be creating the stream.
	cons, err := js.OrderedConsumer(ctx, bus.StreamAdmissions, jetstream.OrderedConsumerConfig{})
	for deadline := time.Now().Add(time.Minute); err != nil && time.Now().Before(deadline) && ctx.Err() == nil; {
		time.Sleep(500 * time.Millisecond)
		cons, err = js.OrderedConsumer(ctx, bus.StreamAdmissions, jetstream.OrderedConsumerConfig{})
	}
	if err != nil {
		return err
	}
	cc, err := cons.Consume(func(m jetstream.Msg) {
		a := &sgpb.Admission{}
		if proto.Unmarshal(m.Data(), a) == nil {
			d.printAdmission(a)
		}
	})
	if err != nil {
		return err
	}
	defer cc.Stop()
	<-ctx.Done()
	return ctx.Err()
}

func (d *demo) printAdmission(a *sgpb.Admission) {
	who := "unknown visitor"
	if a.TicketId != "" {
		who = d.names[a.TicketId]
		if who == "" {
			who = a.TicketId
		}
	}
	if a.Method == sgpb.Method_METHOD_MANUAL {
		who = "manual open by " + a.Operator
	}
	verdict := "DENY "
	if a.Decision == sgpb.Decision_DECISION_ALLOW {
		verdict = "ALLOW"
	}
	fmt.Fprintf(d.out, "%s %-8s %s  %-22s %s distance %.3f  reason %-13s latency %4.0f ms  %s\n",
		time.UnixMilli(a.AtMs).Format("15:04:05"), a.GateId, verdict, who, a.FaceModel, a.Distance, a.Reason, a.LatencyMs,
		strings.ToLower(strings.TrimPrefix(a.Method.String(), "METHOD_")))
}

func waitHTTP(ctx context.Context, url string, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}
