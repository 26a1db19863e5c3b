package bus

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
)

// Options says how to reach NATS. The zero value means "no URL": programs
// that can embed a server then do so.
type Options struct {
	URL       string // nats://host:4222, or several separated by commas
	User      string
	Password  string
	CredsFile string // a NATS .creds file (JWT + NKey)
	TLSCA     string // CA certificate to trust
	TLSCert   string // client certificate, with TLSKey
	TLSKey    string
	Replicas  int // stream and bucket replicas when provisioning (1, or 3 on a cluster)
}

// RegisterFlags adds the NATS options to fs, so every program spells them
// the same way.
func (o *Options) RegisterFlags(fs *flag.FlagSet) {
	fs.StringVar(&o.URL, "nats", "", "NATS server URL(s), comma-separated; empty starts an embedded server where the program can")
	fs.StringVar(&o.User, "nats-user", "", "NATS user name")
	fs.StringVar(&o.Password, "nats-password", "", "NATS password")
	fs.StringVar(&o.CredsFile, "nats-creds", "", "NATS credentials file")
	fs.StringVar(&o.TLSCA, "nats-tls-ca", "", "CA certificate for NATS over TLS")
	fs.StringVar(&o.TLSCert, "nats-tls-cert", "", "client certificate for NATS over TLS")
	fs.StringVar(&o.TLSKey, "nats-tls-key", "", "client key for NATS over TLS")
	fs.IntVar(&o.Replicas, "nats-replicas", 1, "replicas of the JetStream streams and buckets (3 on a cluster)")
}

// Connect connects to o.URL as the client name. The connection reconnects
// forever and, when the server is down at start, keeps trying in the
// background, so a gate can start and work while NATS is away; the returned
// connection is then not yet connected.
func Connect(o Options, name string, log *slog.Logger) (*nats.Conn, error) {
	if o.URL == "" {
		return nil, errors.New("bus: no NATS URL")
	}
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.RetryOnFailedConnect(true),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if log != nil {
				log.Warn("NATS disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			if log != nil {
				log.Info("NATS reconnected", "url", nc.ConnectedUrl())
			}
		}),
	}
	if o.User != "" {
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	if o.CredsFile != "" {
		opts = append(opts, nats.UserCredentials(o.CredsFile))
	}
	if o.TLSCA != "" {
		opts = append(opts, nats.RootCAs(o.TLSCA))
	}
	if o.TLSCert != "" {
		opts = append(opts, nats.ClientCert(o.TLSCert, o.TLSKey))
	}
	nc, err := nats.Connect(o.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("bus: connect %s: %w", o.URL, err)
	}
	return nc, nil
}
