package node

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/scenicgate/scenicgate/internal/rules"
	"github.com/scenicgate/scenicgate/internal/testenv"
)

// TestVisitorEnrolledWithTwoPhotosIsOneTemplate enrolls a visitor with two
// photos: the gate's gallery holds one descriptor for the ticket, the two
// fused, and a third photo of the visitor is let in by it.
func TestVisitorEnrolledWithTwoPhotosIsOneTemplate(t *testing.T) {
	s := startSite(t)
	g := startGate(t, s, "north-1", nil)
	srv := httptest.NewServer(s.enroll.Handler())
	defer srv.Close()
	visitor := map[string]any{"name": "游客", "ticket_type": "single", "valid_from": rules.Site{}.Day(time.Now()).String(),
		"zones": []string{"main"}, "photos": [][]byte{testenv.Photo(t, "obama.jpg"), testenv.Photo(t, "obama3.jpg")}}
	body, _ := json.Marshal(map[string]any{"order_id": "o-fused-1", "consent": true, "visitors": []any{visitor}})
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/api/v1/tickets", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+s.key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Tickets []struct {
			TicketID string `json:"ticket_id"`
		} `json:"tickets"`
	}
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != http.StatusCreated || len(out.Tickets) != 1 {
		t.Fatalf("enroll with two photos: status %d", resp.StatusCode)
	}
	id := out.Tickets[0].TicketID
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
