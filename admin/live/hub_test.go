package live

import (
	"testing"

	"github.com/scenicgate/scenicgate/admin/store"
)

func TestHubDeliversAndDropsSlowSubscribers(t *testing.T) {
	h := New()
	fast, slow := h.Subscribe(), h.Subscribe()
	defer fast.Cancel()
	for i := 0; i < Buffer+1; i++ {
		h.Publish(Event{Admission: &store.Admission{EventID: "e"}})
		if i < Buffer {
			<-fast.C
		}
	}
	// fast kept up until its last event; slow never read and must be gone.
	n := 0
	for range slow.C {
		n++
	}
	if n != Buffer {
		t.Errorf("slow subscriber got %d buffered events before being dropped; want %d", n, Buffer)
	}
	if got := h.Subscribers(); got != 1 {
		t.Errorf("Subscribers() = %d; want 1", got)
	}
	h.Close()
	if _, ok := <-fast.C; !ok {
		t.Error("fast subscriber lost its last event at Close")
	}
	if _, ok := <-fast.C; ok {
		t.Error("subscription still open after Close")
	}
	late := h.Subscribe()
	if _, ok := <-late.C; ok {
		t.Error("subscription after Close is open")
	}
	late.Cancel()
	fast.Cancel()
}
