// Command enroll is ScenicGate's enrollment API: ticket shops and the scenic
// area's IT bind paid orders to visitors' faces through it, and it publishes
// the resulting entitlements to every gate over NATS.
//
//	enroll [options]                      serve the API (see --help)
//	enroll apikey create --name NAME --scope shop|staff
//	                                      print a new API key once
//	enroll apikey list                    list API keys
//	enroll apikey revoke --name NAME      stop a key from working
//	enroll apikey rotate --name NAME      print a new key for NAME; the old one stops
//	enroll apikey set-scope --name NAME --scope shop|staff
//	enroll credentials create --role enroll|admin|gate [--id GATE]
//	                                      print a program's NATS credentials once
//	enroll credentials list               list the issued NATS credentials
//	enroll credentials revoke --key UKEY | --role R [--id GATE]
//	enroll nats-config [options]          print a nats-server configuration with them
//	enroll public-key                     print the key gates trust (--trust-enroll)
//	enroll qr-key rotate|list             rotate the key that signs QR codes
//	enroll faces recompute --model NAME   describe kept photos with a model added later
package main

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"text/tabwriter"

	"github.com/scenicgate/scenicgate/enroll/app"
	"github.com/scenicgate/scenicgate/enroll/service"
	"github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/internal/config"
	"github.com/scenicgate/scenicgate/internal/logging"
	"github.com/scenicgate/scenicgate/models/faces"
)

func main() { config.Main("enroll", run) }

func run(args []string) error {
	if len(args) > 0 {
		switch args[0] {
		case "apikey":
			return apikey(args[1:])
		case "credentials":
			return app.CredentialsCommand(args[1:], os.Stdout, os.Stderr)
		case "nats-config":
			return app.NATSConfigCommand(args[1:], os.Stdout, os.Stderr)
		case "public-key":
			return app.PublicKeyCommand(args[1:], os.Stdout, os.Stderr)
		case "qr-key":
			return app.QRKeyCommand(args[1:], os.Stdout, os.Stderr)
		}
	}
	if len(args) > 0 && args[0] == "faces" {
		return facesCommand(args[1:])
	}
	cfg := app.DefaultConfig()
	log, err := config.Program("enroll [options] | enroll apikey|credentials|nats-config|public-key|qr-key|faces ...", args, cfg.RegisterFlags)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer a.Close()
	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return err
	}
	return a.Serve(ctx, l)
}

func apikey(args []string) error {
	if len(args) == 0 {
		return config.UsageError{Msg: "apikey needs a command: create, list, revoke, rotate or set-scope"}
	}
	cmd := args[0]
	fs := config.NewFlagSet("enroll apikey " + cmd + " [--name NAME] [--scope shop|staff] [--data DIR]")
	data := fs.String("data", app.DefaultConfig().Data, "enroll's data folder")
	name := fs.String("name", "", "the key's name, e.g. the ticket shop it is for; a shop's orders belong to it")
	scope := fs.String("scope", "", "shop: a ticket shop, sees only its own orders; staff: the key admin uses, sees every ticket but no QR token")
	if err := config.Parse(fs, args[1:], os.Getenv); err != nil {
		return err
	}
	needName := func() error {
		if *name == "" {
			return config.UsageError{Msg: "apikey " + cmd + " needs --name"}
		}
		return nil
	}
	needScope := func() (store.Scope, error) {
		if *scope == "" {
			return "", config.UsageError{Msg: "apikey " + cmd + " needs --scope shop (a ticket shop) or --scope staff (admin's key)"}
		}
		sc, err := store.ParseScope(*scope)
		if err != nil {
			return "", config.UsageError{Msg: "--scope: " + err.Error()}
		}
		return sc, nil
	}
	switch cmd {
	case "create", "list", "revoke", "rotate", "set-scope":
	default:
		return config.UsageError{Msg: fmt.Sprintf("unknown apikey command %q", cmd)}
	}
	if cmd != "list" {
		if err := needName(); err != nil {
			return err
		}
	}
	var sc store.Scope
	if cmd == "create" || cmd == "set-scope" {
		var err error
		if sc, err = needScope(); err != nil {
			return err
		}
	}
	ctx := context.Background()
	st, err := store.Open(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	switch cmd {
	case "create", "rotate":
		var key string
		if cmd == "create" {
			key, err = st.CreateAPIKey(ctx, *name, sc)
		} else {
			key, err = st.RotateAPIKey(ctx, *name)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "API key for %q (shown only now; store it safely):\n", *name)
		fmt.Println(key)
	case "list":
		keys, err := st.APIKeys(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tSCOPE\tPREFIX\tCREATED\tLAST USED\tREVOKED")
		for _, k := range keys {
			fmt.Fprintf(w, "%s\t%s\tsgk_%s\t%s\t%s\t%s\n", k.Name, k.Scope, k.Prefix, stamp(k.CreatedAt), stamp(k.LastUsed), stamp(k.RevokedAt))
		}
		return w.Flush()
	case "revoke":
		return st.RevokeAPIKey(ctx, *name)
	case "set-scope":
		return st.SetAPIKeyScope(ctx, *name, sc)
	}
	return nil
}

// facesCommand runs `enroll faces recompute`: it describes the kept photos
// of usable tickets with a model added after they were enrolled, or aligned
// for a detector chosen after they were enrolled. It works
// beside a running enroll, whose publisher sends the changed tickets to the
// gates.
func facesCommand(args []string) error {
	if len(args) == 0 || args[0] != "recompute" {
		return config.UsageError{Msg: "faces needs a command: recompute"}
	}
	def := app.DefaultConfig()
	fs := config.NewFlagSet("enroll faces recompute --model NAME [--data DIR] [--models DIR]")
	data := fs.String("data", def.Data, "enroll's data folder")
	models := fs.String("models", def.Models, "folder with the model files (make models)")
	model := fs.String("model", "", "the model to describe faces with: "+strings.Join(faces.ModelNames(), ", "))
	detector := fs.String("detector", def.Detector, "the detector the gates find faces with: "+strings.Join(faces.Detectors(), ", "))
	if err := config.Parse(fs, args[1:], os.Getenv); err != nil {
		return err
	}
	if *model == "" {
		return config.UsageError{Msg: "faces recompute needs --model"}
	}
	log := logging.New(os.Stderr, "info")
	ctx := context.Background()
	st, err := store.Open(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	engine, err := app.OpenEngine(*models, *model, *detector, 0)
	if err != nil {
		return err
	}
	defer engine.Close()
	cfg := def.Service
	cfg.DuplicateDistance = -1 // no new faces: nothing to compare
	svc, err := service.New(ctx, cfg, st, engine, nil, log, nil)
	if err != nil {
		return err
	}
	r, err := svc.Recompute(ctx, *model, "cli:faces recompute")
	if err != nil {
		return err
	}
	fmt.Printf("%s (%s): %d faces described, %d photos gave no face, %d faces without a kept photo still lack a descriptor (those visitors must enroll again)\n",
		*model, alignmentName(engine.Alignment(*model)), r.Described, r.Failed, r.WithoutPhoto)
	return nil
}

// alignmentName names an alignment for people.
func alignmentName(a string) string {
	if a == faces.AlignDlib {
		return "aligned on dlib's landmarks"
	}
	return "aligned on " + a
}
