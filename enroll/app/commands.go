package app

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/scenicgate/scenicgate/enroll/keys"
	"github.com/scenicgate/scenicgate/internal/bus"
	"github.com/scenicgate/scenicgate/internal/config"
	"github.com/scenicgate/scenicgate/internal/qrtoken"
)

// CredentialsCommand runs "enroll credentials create|list|revoke": the NATS
// identities of the site's programs. create prints a credentials file on
// out (the key's seed is shown only then) and records the public key, which
// the embedded server accepts within seconds; a cluster accepts it once its
// configuration is printed again (NATSConfigCommand) and reloaded. An
// identity may hold several keys, so rotating one is create, install the
// new file, then revoke --key the old one.
func CredentialsCommand(args []string, out, errOut io.Writer) error {
	if len(args) == 0 {
		return config.UsageError{Msg: "credentials needs a command: create, list or revoke"}
	}
	cmd := args[0]
	fs := config.NewFlagSet("enroll credentials " + cmd + " [--data DIR] [--role enroll|admin|gate] [--id GATE] [--key UKEY]")
	fs.SetOutput(errOut)
	data := fs.String("data", DefaultConfig().Data, "enroll's data folder")
	role := fs.String("role", "", "the program: enroll, admin or gate")
	id := fs.String("id", "", "the gate's id (--role gate)")
	key := fs.String("key", "", "revoke: the public key (U…) to revoke; without it every key of --role/--id")
	if err := config.Parse(fs, args[1:], os.Getenv); err != nil {
		return err
	}
	reg := bus.OpenRegistry(RegistryPath(*data))
	who := bus.Identity{Role: bus.Role(*role), ID: *id}
	switch cmd {
	case "create":
		if err := who.Validate(); err != nil {
			return config.UsageError{Msg: err.Error()}
		}
		if err := os.MkdirAll(*data, 0o750); err != nil {
			return err
		}
		k, creds, err := reg.Issue(who, time.Now())
		if err != nil {
			return err
		}
		fmt.Fprintf(errOut, "NATS credentials for %s, key %s (shown only now; store the file with mode 0600).\n", who, k.Key)
		if who.Role == bus.RoleGate {
			fmt.Fprintf(errOut, "Start the gate with --id %s --nats-creds FILE.\n", who.ID)
		}
		_, err = out.Write(creds)
		return err
	case "list":
		list, err := reg.Keys()
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "IDENTITY\tKEY\tISSUED")
		for _, k := range list {
			fmt.Fprintf(w, "%s\t%s\t%s\n", k.Identity, k.Key, k.Issued.Local().Format(time.DateTime))
		}
		return w.Flush()
	case "revoke":
		if *key == "" && *role == "" {
			return config.UsageError{Msg: "credentials revoke needs --key, or --role (and --id for a gate)"}
		}
		if *key == "" {
			if err := who.Validate(); err != nil {
				return config.UsageError{Msg: err.Error()}
			}
		}
		gone, err := reg.Revoke(func(k bus.UserKey) bool {
			if *key != "" {
				return k.Key == *key
			}
			return k.Identity == who
		})
		if err != nil {
			return err
		}
		if len(gone) == 0 {
			return errors.New("no such credentials")
		}
		for _, k := range gone {
			fmt.Fprintf(out, "revoked %s %s\n", k.Identity, k.Key)
		}
		fmt.Fprintln(errOut, "The embedded server refuses them within seconds; on a cluster, print `enroll nats-config` again and reload the servers.")
		return nil
	default:
		return config.UsageError{Msg: fmt.Sprintf("unknown credentials command %q", cmd)}
	}
}

// NATSConfigCommand runs "enroll nats-config": it prints the configuration
// of a standalone nats-server — one node of a cluster — holding the NATS
// users in the registry and their permissions. The embedded server runs on
// the same rules.
func NATSConfigCommand(args []string, out, errOut io.Writer) error {
	fs := config.NewFlagSet("enroll nats-config [--data DIR] [--server-name NAME] [--routes HOST:PORT,...] [options]")
	fs.SetOutput(errOut)
	data := fs.String("data", DefaultConfig().Data, "enroll's data folder, with the issued credentials")
	host, _ := os.Hostname()
	name := fs.String("server-name", host, "this node's name, different on every node")
	listen := fs.String("listen", "0.0.0.0:4222", "client address")
	store := fs.String("store-dir", "/var/lib/nats", "where JetStream keeps its data")
	cert := fs.String("tls-cert", "", "TLS certificate for clients (recommended beyond loopback)")
	key := fs.String("tls-key", "", "TLS key for clients")
	routes := fs.String("routes", "", "cluster: every node's route address, comma-separated (empty: a single server)")
	clusterName := fs.String("cluster-name", "scenicgate", "cluster: the cluster's name")
	clusterListen := fs.String("cluster-listen", "0.0.0.0:6222", "cluster: this node's route address")
	if err := config.Parse(fs, args, os.Getenv); err != nil {
		return err
	}
	if (*cert == "") != (*key == "") {
		return config.UsageError{Msg: "--tls-cert and --tls-key go together"}
	}
	users, err := bus.OpenRegistry(RegistryPath(*data)).Users()
	if err != nil {
		return err
	}
	if len(users) == 0 {
		fmt.Fprintln(errOut, "no credentials issued yet: nobody can log in (`enroll credentials create`)")
	}
	cfg := bus.ServerConfig{Users: users, ServerName: *name, Listen: *listen, StoreDir: *store, TLSCert: *cert, TLSKey: *key}
	if *routes != "" {
		password, err := clusterPassword(*data)
		if err != nil {
			return err
		}
		cfg.Cluster = &bus.ClusterConfig{Name: *clusterName, Listen: *clusterListen, Routes: strings.Split(*routes, ","), Password: password}
	}
	_, err = io.WriteString(out, cfg.Text())
	return err
}

// clusterPassword returns the password cluster routes log in with, made on
// first use and kept in the data folder, so every node's configuration
// printed from it agrees.
func clusterPassword(data string) (string, error) {
	path := filepath.Join(data, "nats-cluster.secret")
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	raw := make([]byte, 24)
	rand.Read(raw)
	password := hex.EncodeToString(raw)
	if err := os.MkdirAll(data, 0o750); err != nil {
		return "", err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return clusterPassword(data)
	}
	if err != nil {
		return "", err
	}
	_, err = fmt.Fprintln(f, password)
	return password, errors.Join(err, f.Close())
}

// PublicKeyCommand runs "enroll public-key": it prints the public key of
// enroll's signing key, which gates are installed with (--trust-enroll).
func PublicKeyCommand(args []string, out, errOut io.Writer) error {
	fs := config.NewFlagSet("enroll public-key [--data DIR]")
	fs.SetOutput(errOut)
	data := fs.String("data", DefaultConfig().Data, "enroll's data folder")
	if err := config.Parse(fs, args, os.Getenv); err != nil {
		return err
	}
	if err := os.MkdirAll(*data, 0o750); err != nil {
		return err
	}
	k, err := keys.Open(*data)
	if err != nil {
		return err
	}
	fmt.Fprintln(errOut, "enroll's public key; give it to every gate with --trust-enroll:")
	_, err = fmt.Fprintln(out, qrtoken.MarshalPublicKey(k.Signer().PublicKey()))
	return err
}

// QRKeyCommand runs "enroll qr-key rotate|list". rotate retires the QR
// signing key: a running enroll signs new codes with a new key at once, and
// gates accept codes signed with the old one until the last ticket it
// signed has ended.
func QRKeyCommand(args []string, out, errOut io.Writer) error {
	if len(args) == 0 {
		return config.UsageError{Msg: "qr-key needs a command: rotate or list"}
	}
	cmd := args[0]
	fs := config.NewFlagSet("enroll qr-key " + cmd + " [--data DIR]")
	fs.SetOutput(errOut)
	data := fs.String("data", DefaultConfig().Data, "enroll's data folder")
	if err := config.Parse(fs, args[1:], os.Getenv); err != nil {
		return err
	}
	switch cmd {
	case "rotate":
		old, fresh, err := keys.RotateQR(*data, time.Now())
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "retired %s\ncurrent %s\n", qrtoken.MarshalPublicKey(old), qrtoken.MarshalPublicKey(fresh))
		return err
	case "list":
		k, err := keys.Open(*data)
		if err != nil {
			return err
		}
		retired, err := keys.ListRetired(*data)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "KEY\tRETIRED")
		fmt.Fprintf(w, "%s\t-\n", qrtoken.MarshalPublicKey(k.QRPublicKey()))
		for _, r := range retired {
			fmt.Fprintf(w, "%s\t%s\n", qrtoken.MarshalPublicKey(r.PublicKey), r.RetiredAt.Local().Format(time.DateTime))
		}
		return w.Flush()
	default:
		return config.UsageError{Msg: fmt.Sprintf("unknown qr-key command %q", cmd)}
	}
}
