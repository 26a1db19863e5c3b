package node

import (
	"testing"
)

// TestVisitorEnrolledWithTwoPhotosIsOneTemplate enrolls a visitor with two
// photos: the gate's gallery holds one descriptor for the ticket, the two
// fused, and a third photo of the visitor is let in by it.
func TestVisitorEnrolledWithTwoPhotosIsOneTemplate(t *testing.T) {
	s := startSite(t)
	g := startGate(t, s, "north-1", nil)
	id, _ := enrollVisitor(t, s, "o-fused-1", "single", "obama.jpg", "obama3.jpg")
	waitInGallery(t, g, id)
	if tickets, descs := g.node.gallery.Len(); tickets != 1 || descs != 1 {
		t.Errorf("gallery Len() = %d tickets, %d descriptors; want 1 and 1: the two photos fused", tickets, descs)
	}
	if s, _ := g.node.mirror.Summary(id); s.Faces < 2 {
		t.Errorf("the ticket's summary counts %d faces; want both photos' (every model's)", s.Faces)
	}
	l := g.node.NewLane()
	defer l.Close()
	if o := show(t, l, "obama2.jpg", 5); o == nil || !o.Allow || o.Admission.TicketId != id {
		t.Fatalf("a third photo of the visitor: %+v; want %s let in", o, id)
	}
}
