package app

import (
	"bytes"
	"context"
	"net/http"
	"slices"
	"testing"

	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/models/faces"
)

// faceModels returns the models a ticket's first face was described with,
// as the API reports them.
func faceModels(t *testing.T, ticket map[string]any) []string {
	t.Helper()
	fs, _ := ticket["faces"].([]any)
	if len(fs) == 0 {
		t.Fatalf("ticket %v has no faces", ticket["ticket_id"])
	}
	var out []string
	for _, m := range fs[0].(map[string]any)["models"].([]any) {
		out = append(out, m.(string))
	}
	slices.Sort(out)
	return out
}

// TestFaceModelsAndRecompute enrolls with dlib alone, as a site did before
// it added MobileFaceNet, keeping photos; then enroll starts again with
// both models and `faces recompute` describes the kept photos with the new
// one, so gates that switch models recognise the visitors.
func TestFaceModelsAndRecompute(t *testing.T) {
	dir := t.TempDir()
	dlibOnly, err := OpenEngine(testenv.ModelDir(t), "dlib", "", 1)
	if err != nil {
		t.Fatal(err)
	}
	defer dlibOnly.Close()
	cfg := DefaultConfig()
	cfg.Data, cfg.NATSListen, cfg.Engine = dir, "127.0.0.1:0", dlibOnly
	cfg.Service.KeepPhotos = true
	old, err := New(context.Background(), cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := old.Store().CreateAPIKey(context.Background(), "shop", store.ScopeShop)
	c := newClient(t, old, key)
	_, kept := c.postJSON("/api/v1/tickets", orderJSON("m-1", testenv.Photo(t, "obama.jpg")))
	if got := faceModels(t, tickets(kept)[0]); !slices.Equal(got, []string{"dlib"}) {
		t.Fatalf("enrolled with --face-models dlib: models %v; want [dlib]", got)
	}
	old.Close()

	// The same site now also without kept photos for a second visitor.
	cfg.Service.KeepPhotos = false
	cfg.Engine = dlibOnly
	old, err = New(context.Background(), cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	c = newClient(t, old, key)
	c.postJSON("/api/v1/tickets", orderJSON("m-2", testenv.Photo(t, "biden.jpg")))
	old.Close()

	cfg.Engine = engine // every model
	a, err := New(context.Background(), cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	r, err := a.Service().Recompute(context.Background(), faces.MobileFaceNet, "test")
	if err != nil {
		t.Fatal(err)
	}
	if r.Described != 1 || r.Failed != 0 || r.WithoutPhoto != 1 {
		t.Errorf("Recompute(mobilefacenet) = %+v; want 1 described, 1 without a kept photo", r)
	}
	c = newClient(t, a, key)
	status, got := c.do(http.MethodGet, "/api/v1/tickets/"+tickets(kept)[0]["ticket_id"].(string), "", nil)
	if status != http.StatusOK {
		t.Fatalf("GET ticket: %d", status)
	}
	if models := faceModels(t, got); !slices.Equal(models, []string{"dlib", "mobilefacenet"}) {
		t.Errorf("after recompute: models %v; want [dlib mobilefacenet]", models)
	}
	// Done again, nothing is left to do.
	if r, err := a.Service().Recompute(context.Background(), faces.MobileFaceNet, "test"); err != nil || r.Described != 0 {
		t.Errorf("second Recompute = %+v, %v; want nothing described", r, err)
	}
	// A model the engine does not run is refused.
	if _, err := a.Service().Recompute(context.Background(), "arcface", "test"); err == nil {
		t.Error("Recompute(arcface) = nil error; want one")
	}
}

// TestRecomputeForAnotherDetector enrolls with the HOG detector, keeping
// photos, as sites did before BlazeFace; the site then moves to BlazeFace
// and `faces recompute` adds descriptors aligned on five points beside the
// old ones, so gates on either detector find a descriptor aligned as they
// align.
func TestRecomputeForAnotherDetector(t *testing.T) {
	dir := testenv.ModelDir(t)
	open := func(detector string) *faces.Engine {
		e, err := OpenEngine(dir, faces.MobileFaceNet, detector, 1)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { e.Close() })
		return e
	}
	cfg := DefaultConfig()
	cfg.Data, cfg.NATSListen, cfg.Engine = t.TempDir(), "127.0.0.1:0", open(faces.DetectorHOG)
	cfg.Service.KeepPhotos = true
	old, err := New(context.Background(), cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	key, _ := old.Store().CreateAPIKey(context.Background(), "shop", store.ScopeShop)
	_, body := newClient(t, old, key).postJSON("/api/v1/tickets", orderJSON("d-1", testenv.Photo(t, "obama.jpg")))
	id, _ := tickets(body)[0]["ticket_id"].(string)
	old.Close()

	cfg.Engine = open(faces.DetectorBlazeFace)
	a, err := New(context.Background(), cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	r, err := a.Service().Recompute(context.Background(), faces.MobileFaceNet, "test")
	if err != nil || r.Described != 1 {
		t.Fatalf("Recompute(mobilefacenet) with BlazeFace = %+v, %v; want the kept photo described", r, err)
	}
	tk, err := a.Store().Ticket(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	old3, new5 := tk.Faces[0].Descriptor(faces.MobileFaceNet, faces.AlignDlib), tk.Faces[0].Descriptor(faces.MobileFaceNet, faces.AlignFivePoint)
	if old3 == nil || new5 == nil || slices.Equal(old3, new5) {
		t.Errorf("descriptors after recompute: dlib-landmark %v, five-point %v; want both, different", old3 != nil, new5 != nil)
	}
	if r, err := a.Service().Recompute(context.Background(), faces.MobileFaceNet, "test"); err != nil || r.Described != 0 {
		t.Errorf("second Recompute = %+v, %v; want nothing described", r, err)
	}
}

// TestPhotosPhonesSend enrolls a JPEG without its end marker (accepted with
// a warning) and a WebP photo.
func TestPhotosPhonesSend(t *testing.T) {
	a, key := startApp(t, t.TempDir(), nil)
	c := newClient(t, a, key)
	noEnd := bytes.TrimSuffix(testenv.Photo(t, "obama.jpg"), []byte{0xFF, 0xD9})
	status, body := c.postJSON("/api/v1/tickets", orderJSON("phone-1", noEnd))
	if status != http.StatusCreated {
		t.Fatalf("JPEG without an end marker: %d %v; want 201", status, body)
	}
	w, _ := tickets(body)[0]["warnings"].([]any)
	if len(w) != 1 || w[0].(map[string]any)["code"] != "image_repaired" {
		t.Errorf("JPEG without an end marker: warnings %v; want one image_repaired", w)
	}
	status, body = c.postJSON("/api/v1/tickets", orderJSON("phone-2", webpPhoto(t, "biden.jpg")))
	if status != http.StatusCreated {
		t.Fatalf("WebP photo: %d %v; want 201", status, body)
	}
	if w, _ := tickets(body)[0]["warnings"].([]any); len(w) != 0 {
		t.Errorf("WebP photo: warnings %v; want none", w)
	}
}

// webpPhoto re-encodes a test photo as WebP.
func webpPhoto(t *testing.T, name string) []byte {
	t.Helper()
	m, err := gocv.IMDecode(testenv.Photo(t, name), gocv.IMReadColor)
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	buf, err := gocv.IMEncodeWithParams(gocv.FileExt(".webp"), m, []int{gocv.IMWriteWebpQuality, 90})
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	return bytes.Clone(buf.GetBytes())
}
