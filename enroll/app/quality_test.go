package app

import (
	"context"
	"image"
	"image/color"
	"math"
	"net/http"
	"strings"
	"testing"

	"gocv.io/x/gocv"

	"github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/models/faces"
)

// startAppWith is startApp on an engine of its own, with the detector
// named, and the config changed by tune (may be nil).
func startAppWith(t *testing.T, detector string, tune func(*Config)) (*App, string) {
	t.Helper()
	e, err := faces.Open(faces.Config{ModelDir: testenv.ModelDir(t), Workers: 1, Models: []string{faces.DefaultModel}, Detector: detector})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	cfg := DefaultConfig()
	cfg.Data = t.TempDir()
	cfg.NATSListen = "127.0.0.1:0"
	cfg.Engine = e
	if tune != nil {
		tune(&cfg)
	}
	a, err := New(context.Background(), cfg, quietLog())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { a.Close() })
	key, err := a.Store().CreateAPIKey(context.Background(), "shop-quality", store.ScopeShop)
	if err != nil {
		t.Fatal(err)
	}
	return a, key
}

// errMessage returns a refusal's message, "" for none.
func errMessage(body map[string]any) string {
	e, _ := body["error"].(map[string]any)
	msg, _ := e["message"].(string)
	return msg
}

// edited decodes a test photo, changes it with edit, and encodes it again.
func edited(t *testing.T, name string, edit func(src gocv.Mat, dst *gocv.Mat)) []byte {
	t.Helper()
	src, err := gocv.IMDecode(testenv.Photo(t, name), gocv.IMReadColor)
	if err != nil || src.Empty() {
		t.Fatalf("decode %s: %v", name, err)
	}
	defer src.Close()
	dst := gocv.NewMat()
	defer dst.Close()
	edit(src, &dst)
	buf, err := gocv.IMEncodeWithParams(gocv.JPEGFileExt, dst, []int{gocv.IMWriteJpegQuality, 95})
	if err != nil {
		t.Fatal(err)
	}
	defer buf.Close()
	return append([]byte(nil), buf.GetBytes()...)
}

// blur smooths the photo as a shaking hand or a missed focus would.
func blur(src gocv.Mat, dst *gocv.Mat) {
	gocv.GaussianBlur(src, dst, image.Pt(0, 0), 0.012*float64(src.Cols()), 0, gocv.BorderReplicate)
}

// tilt turns the photo 35° counter-clockwise, on a canvas that keeps it
// whole: a head held at a slant.
func tilt(src gocv.Mat, dst *gocv.Mat) {
	const deg = 35
	w, h := float64(src.Cols()), float64(src.Rows())
	r := deg * math.Pi / 180
	nw := int(w*math.Cos(r) + h*math.Sin(r))
	nh := int(w*math.Sin(r) + h*math.Cos(r))
	rot := gocv.GetRotationMatrix2D(image.Pt(src.Cols()/2, src.Rows()/2), deg, 1)
	defer rot.Close()
	rot.SetDoubleAt(0, 2, rot.GetDoubleAt(0, 2)+float64(nw-src.Cols())/2)
	rot.SetDoubleAt(1, 2, rot.GetDoubleAt(1, 2)+float64(nh-src.Rows())/2)
	gocv.WarpAffineWithParams(src, dst, rot, image.Pt(nw, nh), gocv.InterpolationLinear, gocv.BorderReplicate, color.RGBA{})
}

// shrink makes the photo a tenth of its size: the face is then some 40
// pixels, too few to describe.
func shrink(src gocv.Mat, dst *gocv.Mat) {
	gocv.Resize(src, dst, image.Pt(src.Cols()/10, src.Rows()/10), 0, 0, gocv.InterpolationArea)
}

// wall is the photo's top left corner, blurred flat: no face at all.
func wall(src gocv.Mat, dst *gocv.Mat) {
	part := src.Region(image.Rect(0, 0, 200, 200))
	defer part.Close()
	gocv.GaussianBlur(part, dst, image.Pt(0, 0), 20, 0, gocv.BorderReplicate)
}

// TestEnrollRefusesPoorPhotos sends orders whose photos each fail one check,
// with both detectors: each is refused with 422, its code, and a message
// naming the photo; nothing is stored. Two or three good photos of one
// person are accepted.
func TestEnrollRefusesPoorPhotos(t *testing.T) {
	for _, det := range []string{faces.DetectorHOG, faces.DetectorBlazeFace} {
		t.Run(det, func(t *testing.T) {
			a, key := startAppWith(t, det, nil)
			c := newClient(t, a, key)
			// dlib's HOG detector finds no face under its 80-pixel window,
			// so to it a face too small is no face.
			smallFace := "face_too_small"
			if det == faces.DetectorHOG {
				smallFace = "no_face"
			}
			obama, obama2, obama3 := testenv.Photo(t, "obama.jpg"), testenv.Photo(t, "obama2.jpg"), testenv.Photo(t, "obama3.jpg")
			cases := []struct {
				name   string
				photos [][]byte
				code   string
				photo  string // the photo the message must name
			}{
				{"no face", [][]byte{obama, edited(t, "obama.jpg", wall)}, "no_face", "photos[1]"},
				{"small face", [][]byte{edited(t, "obama.jpg", shrink)}, smallFace, "photos[0]"},
				{"blurred", [][]byte{obama, edited(t, "obama.jpg", blur)}, "face_blurred", "photos[1]"},
				{"tilted", [][]byte{edited(t, "obama.jpg", tilt), obama2}, "face_not_frontal", "photos[0]"},
				{"two people", [][]byte{obama, obama2, testenv.Photo(t, "biden.jpg")}, "different_people", "photos[2]"},
				{"six photos", [][]byte{obama, obama2, obama3, obama, obama2, obama3}, "too_many_photos", "6 photos"},
			}
			for i, tc := range cases {
				order := orderJSON("poor-"+det+"-"+string(rune('a'+i)), tc.photos...)
				status, body := c.postJSON("/api/v1/tickets", order)
				msg := errMessage(body)
				if status != http.StatusUnprocessableEntity || errCode(body) != tc.code || !strings.Contains(msg, tc.photo) {
					t.Errorf("%s: %d %q %q; want 422 %s naming %s", tc.name, status, errCode(body), msg, tc.code, tc.photo)
				}
			}
			if _, n, _ := a.Store().SearchTickets(context.Background(), store.TicketQuery{Limit: 10}); n != 0 {
				t.Errorf("after the refusals %d tickets are stored; want none", n)
			}

			status, body := c.postJSON("/api/v1/tickets", orderJSON("good-"+det, obama, obama2, obama3))
			if status != http.StatusCreated || len(tickets(body)[0]["faces"].([]any)) != 3 {
				t.Fatalf("three good photos of one person: %d %v; want 201 with 3 faces", status, body)
			}
			// Adding to a ticket: its faces kept count, and must be the
			// same person as the new photos.
			id := tickets(body)[0]["ticket_id"].(string)
			add := func(photos ...[]byte) (int, map[string]any) {
				var enc []string
				for _, p := range photos {
					enc = append(enc, b64(p))
				}
				return c.postJSON("/api/v1/tickets/"+id+"/faces", map[string]any{"photos": enc, "consent": true})
			}
			if status, body := add(testenv.Photo(t, "biden.jpg")); status != 422 || errCode(body) != "different_people" {
				t.Errorf("another person's face added to the ticket: %d %q; want 422 different_people", status, errCode(body))
			}
			if status, body := add(obama, obama2, obama3); status != 422 || errCode(body) != "too_many_photos" {
				t.Errorf("three more faces for a ticket with three: %d %q; want 422 too_many_photos", status, errCode(body))
			}
			if status, body := add(obama2, obama3); status != 200 || len(body["faces"].([]any)) != 5 {
				t.Errorf("two more faces for a ticket with three: %d %v; want 200 and 5 faces", status, body["faces"])
			}
		})
	}
}

// TestEnrollRefusesTurnedFaces: obama2.jpg shows the face turned some 20-30°
// to the side. Within the default --max-yaw it is accepted; with --max-yaw 15
// it is refused, and the frontal obama.jpg still accepted.
func TestEnrollRefusesTurnedFaces(t *testing.T) {
	for _, det := range []string{faces.DetectorHOG, faces.DetectorBlazeFace} {
		t.Run(det, func(t *testing.T) {
			a, key := startAppWith(t, det, func(c *Config) { c.Service.Quality.MaxYaw = 15 })
			c := newClient(t, a, key)
			status, body := c.postJSON("/api/v1/tickets", orderJSON("turned-"+det, testenv.Photo(t, "obama.jpg"), testenv.Photo(t, "obama2.jpg")))
			msg := errMessage(body)
			if status != http.StatusUnprocessableEntity || errCode(body) != "face_not_frontal" || !strings.Contains(msg, "photos[1]") {
				t.Errorf("obama2.jpg with --max-yaw 15: %d %q %q; want 422 face_not_frontal naming photos[1]", status, errCode(body), msg)
			}
			if status, body := c.postJSON("/api/v1/tickets", orderJSON("frontal-"+det, testenv.Photo(t, "obama.jpg"))); status != http.StatusCreated {
				t.Errorf("obama.jpg with --max-yaw 15: %d %v; want 201", status, body)
			}
		})
	}
	a, key := startAppWith(t, faces.DetectorBlazeFace, nil)
	c := newClient(t, a, key)
	if status, body := c.postJSON("/api/v1/tickets", orderJSON("turned-default", testenv.Photo(t, "obama2.jpg"))); status != http.StatusCreated {
		t.Errorf("obama2.jpg with the default --max-yaw: %d %v; want 201", status, body)
	}
}
