package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/user"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/scenicgate/scenicgate/admin/service"
	"github.com/scenicgate/scenicgate/admin/store"
	"github.com/scenicgate/scenicgate/internal/config"
	"github.com/scenicgate/scenicgate/internal/qrtoken"
	"github.com/scenicgate/scenicgate/internal/signed"
)

// UserCommand runs "admin user add|list|disable|enable": staff accounts
// managed on the server's own console, which is how the first admin is made.
// Without --password, add asks twice on the terminal in.
func UserCommand(ctx context.Context, args []string, in *os.File, out, errOut io.Writer) error {
	if len(args) == 0 {
		return config.UsageError{Msg: "user needs a command: add, list, disable or enable"}
	}
	cmd := args[0]
	fs := config.NewFlagSet("admin user " + cmd + " [--data DIR] [--role viewer|operator|admin] [--password P] [NAME]")
	fs.SetOutput(errOut)
	data := fs.String("data", DefaultConfig().Data, "admin's data folder")
	role := fs.String("role", string(store.Viewer), "role of a new user: viewer, operator or admin")
	password := fs.String("password", "", "password of a new user; asked on the terminal when left out")
	if err := config.Parse(fs, args[1:], os.Getenv); err != nil {
		return err
	}
	st, err := store.Open(ctx, *data)
	if err != nil {
		return err
	}
	defer st.Close()
	svc := service.New(service.DefaultConfig(), st, nil, nil, nil, nil, slog.New(slog.DiscardHandler), time.Now)
	console := service.Actor{Name: consoleName(), Role: store.Admin}
	name := fs.Arg(0)
	needName := func() error {
		if fs.NArg() != 1 {
			return config.UsageError{Msg: "user " + cmd + " needs exactly one NAME"}
		}
		return nil
	}
	switch cmd {
	case "add":
		if err := needName(); err != nil {
			return err
		}
		pw := *password
		if pw == "" {
			if pw, err = askPassword(in, errOut); err != nil {
				return err
			}
		}
		u, err := svc.CreateUser(ctx, console, name, store.Role(*role), pw)
		if err != nil {
			return err
		}
		fmt.Fprintf(out, "user %s (%s) created\n", u.Name, u.Role)
	case "list":
		users, err := svc.Users(ctx)
		if err != nil {
			return err
		}
		w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(w, "NAME\tROLE\tSTATE\tLAST LOGIN\tCREATED")
		for _, u := range users {
			state := "active"
			switch {
			case u.Disabled:
				state = "disabled"
			case time.Now().Before(u.LockedUntil):
				state = "locked until " + u.LockedUntil.Format("15:04")
			}
			fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", u.Name, u.Role, state, stamp(u.LastLogin), stamp(u.CreatedAt))
		}
		return w.Flush()
	case "disable", "enable":
		if err := needName(); err != nil {
			return err
		}
		if err := svc.SetUserDisabled(ctx, console, name, cmd == "disable"); err != nil {
			return err
		}
		fmt.Fprintf(out, "user %s %sd\n", name, cmd)
	default:
		return config.UsageError{Msg: fmt.Sprintf("unknown user command %q", cmd)}
	}
	return nil
}

// askPassword reads a new password twice without echo.
func askPassword(in *os.File, prompt io.Writer) (string, error) {
	fd := int(in.Fd())
	if !term.IsTerminal(fd) {
		return "", errors.New("no terminal to ask for the password on; pass --password")
	}
	fmt.Fprint(prompt, "Password: ")
	first, err := term.ReadPassword(fd)
	fmt.Fprintln(prompt)
	if err != nil {
		return "", err
	}
	fmt.Fprint(prompt, "Repeat password: ")
	second, err := term.ReadPassword(fd)
	fmt.Fprintln(prompt)
	if err != nil {
		return "", err
	}
	if string(first) != string(second) {
		return "", errors.New("the passwords differ")
	}
	return string(first), nil
}

// consoleName is who the audit log names for console commands.
func consoleName() string {
	if u, err := user.Current(); err == nil {
		return "console:" + u.Username
	}
	return "console"
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format("2006-01-02 15:04")
}

// PublicKeyCommand runs "admin public-key": it prints the public key of
// admin's signing key, which gates are installed with (--trust-admin),
// creating the key on first use.
func PublicKeyCommand(args []string, out, errOut io.Writer) error {
	fs := config.NewFlagSet("admin public-key [--data DIR]")
	fs.SetOutput(errOut)
	data := fs.String("data", DefaultConfig().Data, "admin's data folder")
	if err := config.Parse(fs, args, os.Getenv); err != nil {
		return err
	}
	if err := os.MkdirAll(*data, 0o750); err != nil {
		return err
	}
	s, err := signed.LoadOrCreateSigner(SigningKeyPath(*data))
	if err != nil {
		return err
	}
	fmt.Fprintln(errOut, "admin's public key; give it to every gate with --trust-admin:")
	_, err = fmt.Fprintln(out, qrtoken.MarshalPublicKey(s.PublicKey()))
	return err
}
