package node

import (
	"context"
	"time"

	sitecfg "github.com/scenicgate/scenicgate/internal/site"
)

// RetentionEvery is how often a gate prunes its history.
const RetentionEvery = time.Hour

// PruneHistory deletes the gate's own record of decisions that NATS has
// and that are older than --admissions-retention, except the entries of
// tickets it still mirrors, which count their use; then it empties the
// database's write-ahead log, catching up on any erase the mirror could not
// scrub at once. It returns how many decisions it deleted.
func (n *Node) PruneHistory(ctx context.Context) (int64, error) {
	pruned, err := n.store.Prune(ctx, n.now().Add(-n.cfg.AdmissionsRetention))
	if err != nil {
		return 0, err
	}
	if pruned > 0 {
		n.log.Info("pruned the gate's decision history", "admissions", pruned, "retention", n.cfg.AdmissionsRetention.String())
	}
	if err := n.store.Scrub(ctx); err != nil {
		n.log.Warn("the database log could not be emptied; removed entitlements may linger in it until the next run", "err", err)
	}
	return pruned, nil
}

// retentionLoop prunes at start and every RetentionEvery until ctx ends.
func (n *Node) retentionLoop(ctx context.Context) {
	t := time.NewTicker(RetentionEvery)
	defer t.Stop()
	for {
		if _, err := n.PruneHistory(ctx); err != nil && ctx.Err() == nil {
			n.log.Error("pruning the decision history failed", "err", err)
		}
		if err := n.store.PrunePresence(ctx, n.now().Add(-sitecfg.MaxPassbackWindow)); err != nil && ctx.Err() == nil {
			n.log.Error("pruning presence marks failed", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
