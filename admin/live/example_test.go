package live_test

import (
	"fmt"

	"github.com/scenicgate/scenicgate/admin/live"
	"github.com/scenicgate/scenicgate/admin/store"
)

// Each browser on the dashboard holds a subscription; ingest publishes.
func Example() {
	hub := live.New()
	sub := hub.Subscribe()
	defer sub.Cancel()

	hub.Publish(live.Event{Admission: &store.Admission{EventID: "ev-1", GateID: "north-1"}})
	ev := <-sub.C
	fmt.Println(ev.Admission.GateID, ev.Admission.EventID)

	hub.Close() // at shutdown: every stream ends
	_, open := <-sub.C
	fmt.Println(open)
	// Output:
	// north-1 ev-1
	// false
}
