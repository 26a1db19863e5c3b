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
	CredsFile string // a credentials file from `enroll credentials create`, or a NATS .creds file (JWT + NKey)
	TLSCA     string // CA certificate to trust
	TLSCert   string // client certificate, with TLSKey
	TLSKey    string
	Replicas  int // stream and bucket replicas when provisioning (1, or 3 on a cluster)
}

// RegisterFlags adds the NATS options to fs, so every program spells them
// the same way. The defaults are o's values; natsUsage describes --nats,
// whose meaning differs between the programs.
func (o *Options) RegisterFlags(fs *flag.FlagSet, natsUsage string) {
	fs.StringVar(&o.URL, "nats", o.URL, natsUsage)
	fs.StringVar(&o.User, "nats-user", o.User, "NATS user name")
	fs.StringVar(&o.Password, "nats-password", o.Password, "NATS password")
	fs.StringVar(&o.CredsFile, "nats-creds", o.CredsFile, "NATS credentials file (`enroll credentials create`)")
	fs.StringVar(&o.TLSCA, "nats-tls-ca", o.TLSCA, "CA certificate for NATS over TLS")
	fs.StringVar(&o.TLSCert, "nats-tls-cert", o.TLSCert, "client certificate for NATS over TLS")
	fs.StringVar(&o.TLSKey, "nats-tls-key", o.TLSKey, "client key for NATS over TLS")
	if o.Replicas < 1 {
		o.Replicas = 1
	}
	fs.IntVar(&o.Replicas, "nats-replicas", o.Replicas, "replicas of the JetStream streams and buckets (3 on a cluster)")
}

// PingInterval is how often a program's connection checks that its server
// still answers.
const PingInterval = 5 * time.Second

// Connect connects to o.URL as the program id. The connection reconnects
// forever and, when the server is down at start, keeps trying in the
// background, so a gate can start and work while NATS is away; the returned
// connection is then not yet connected. It keeps trying when the server
// refuses the credentials too: they may be issued a moment later.
//
// A credentials file that names another identity than id fails with
// ErrBadCredentials, before any network use. Permission violations — the
// server refusing a publish or a subscription — are logged as errors.
func Connect(o Options, id Identity, log *slog.Logger) (*nats.Conn, error) {
	return connect(o, id, log)
}

func connect(o Options, id Identity, log *slog.Logger, extra ...nats.Option) (*nats.Conn, error) {
	if o.URL == "" {
		return nil, errors.New("bus: no NATS URL")
	}
	name := "scenicgate"
	if id.Role != "" {
		name = id.String()
	}
	opts := []nats.Option{
		nats.Name(name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(time.Second),
		nats.RetryOnFailedConnect(true),
		nats.IgnoreAuthErrorAbort(),
		// A server that hangs (a frozen machine) keeps its connections
		// open: without an answer to two pings the client moves on to
		// another server of the cluster, within about PingInterval×3.
		nats.PingInterval(PingInterval),
		nats.MaxPingsOutstanding(2),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if log != nil && err != nil { // nil: the program closed the connection
				log.Warn("NATS disconnected", "err", err)
			}
		}),
		nats.ReconnectHandler(func(nc *nats.Conn) {
			if log != nil {
				log.Info("NATS reconnected", "url", nc.ConnectedUrl())
			}
		}),
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if log == nil {
				return
			}
			subject := ""
			if sub != nil {
				subject = sub.Subject
			}
			log.Error("NATS error", "identity", name, "subject", subject, "err", err)
		}),
	}
	if id.Role != "" {
		opts = append(opts, nats.CustomInboxPrefix(id.InboxPrefix()))
	}
	if o.User != "" {
		opts = append(opts, nats.UserInfo(o.User, o.Password))
	}
	if o.CredsFile != "" {
		opt, err := credentialsOption(o.CredsFile, id)
		if err != nil {
			return nil, err
		}
		opts = append(opts, opt)
	}
	if o.TLSCA != "" {
		opts = append(opts, nats.RootCAs(o.TLSCA))
	}
	if o.TLSCert != "" {
		opts = append(opts, nats.ClientCert(o.TLSCert, o.TLSKey))
	}
	opts = append(opts, extra...)
	nc, err := nats.Connect(o.URL, opts...)
	if err != nil {
		return nil, fmt.Errorf("bus: connect %s: %w", o.URL, err)
	}
	return nc, nil
}

// credentialsOption logs in with a credentials file: one from `enroll
// credentials create` (an nkey seed), or a NATS .creds file with a user JWT
// for an operator-mode cluster.
func credentialsOption(path string, id Identity) (nats.Option, error) {
	if isJWTCredentials(path) {
		return nats.UserCredentials(path), nil
	}
	named, _, err := ReadCredentials(path)
	if err != nil {
		return nil, err
	}
	if named.Role != "" && id.Role != "" && named != id {
		return nil, fmt.Errorf("%w: %s holds the credentials of %s, not of %s", ErrBadCredentials, path, named, id)
	}
	opt, err := nats.NkeyOptionFromSeed(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %v", ErrBadCredentials, path, err)
	}
	return opt, nil
}

// CheckConnection asks nc's server for an answer within timeout. When none
// comes on a connection that counts as up — the server hangs, or the
// network dropped it silently — it makes nc reconnect at once, to another
// server of the cluster if there is one, and returns the error.
func CheckConnection(nc *nats.Conn, timeout time.Duration, log *slog.Logger) error {
	if nc.Status() != nats.CONNECTED {
		return nil // the client is already reconnecting
	}
	err := nc.FlushTimeout(timeout)
	if err == nil || nc.Status() != nats.CONNECTED {
		return nil
	}
	if log != nil {
		log.Warn("NATS server not answering; reconnecting", "server", nc.ConnectedUrlRedacted(), "err", err)
	}
	if rerr := nc.ForceReconnect(); rerr != nil {
		return errors.Join(err, rerr)
	}
	return err
}
