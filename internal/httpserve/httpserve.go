// Package httpserve runs an HTTP server for as long as a program runs and
// shuts it down gracefully, the same way in every ScenicGate program.
package httpserve

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Serve answers on l until ctx ends, then shuts srv down, giving requests in
// flight up to grace to finish. With certFile and keyFile it serves TLS.
// It returns nil after a shutdown, or the error that stopped the server.
func Serve(ctx context.Context, srv *http.Server, l net.Listener, certFile, keyFile string, grace time.Duration) error {
	errc := make(chan error, 1)
	go func() {
		if certFile != "" {
			errc <- srv.ServeTLS(l, certFile, keyFile)
			return
		}
		errc <- srv.Serve(l)
	}()
	select {
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	return srv.Shutdown(sctx)
}
