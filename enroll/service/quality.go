package service

import (
	"fmt"
	"math"
	"strconv"

	"github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/models/faces"
)

// Quality is what an enrollment photo's face must show to be accepted. Each
// bound of 0 turns its check off. The defaults were measured on the
// East-Asian development photos (see DefaultQuality).
type Quality struct {
	// MinSharpness refuses a face whose faces.Face.Sharpness is lower
	// (face_blurred): blurred, out of focus, or enlarged from few pixels.
	MinSharpness float64
	// MaxYaw and MaxRoll refuse a face turned further, in degrees, by
	// faces.Face.Pose (face_not_frontal).
	MaxYaw, MaxRoll float64
	// SamePersonDistance refuses a visitor's photos when two of them are
	// further apart than this by the duplicate model (different_people):
	// one ticket's faces are fused into one template at the gates, and a
	// second person's photo would spoil it.
	SamePersonDistance float32
}

// DefaultQuality returns the bounds enroll starts with, measured on the
// East-Asian development photos (187 photos of 37 people; 181 gave a face
// with BlazeFace, 180 with HOG) so that each refuses at most 1% of them with
// either detector:
//
//   - sharpness: the lowest were 33.1 (BlazeFace) and 31.6 (HOG), the next
//     38.5 and 44.9; at 30 none is refused (of 290 other people's news
//     photos, 2% are);
//   - yaw: the largest 59.4 and 57.5 (BlazeFace), 57.3 (HOG); 58 refuses
//     one photo, 0.6%;
//   - roll: the largest 29.3 and 29.6, the next 20.2 and 19.7; 25 refuses
//     one photo each, 0.6%;
//   - same person, by mobilefacenet: the farthest two photos of one person
//     were 0.64 (BlazeFace) and 0.67 (HOG) apart; 0.70 refuses no pair of
//     one person's photos and 87% of the pairs of two people's.
func DefaultQuality() Quality {
	return Quality{MinSharpness: 30, MaxYaw: 58, MaxRoll: 25, SamePersonDistance: 0.70}
}

// checkQuality refuses a face that is blurred or turned too far; at names
// the photo. A face whose quality the reader did not measure passes.
func (s *Service) checkQuality(at string, f faces.Face) error {
	q := s.cfg.Quality
	if v, ok := f.Sharpness(); ok && q.MinSharpness > 0 && v < q.MinSharpness {
		return refuse(CodeFaceBlurred, "%s: the face is blurred (sharpness %.0f, at least %.0f wanted); hold the camera still, focus on the face and use more light", at, v, q.MinSharpness)
	}
	yaw, roll, ok := f.Pose()
	if !ok {
		return nil
	}
	if q.MaxYaw > 0 && math.Abs(yaw) > q.MaxYaw {
		return refuse(CodeFaceNotFrontal, "%s: the face is turned to the side (about %.0f°, at most %.0f°); the visitor should look straight at the camera", at, math.Abs(yaw), q.MaxYaw)
	}
	if q.MaxRoll > 0 && math.Abs(roll) > q.MaxRoll {
		return refuse(CodeFaceNotFrontal, "%s: the head is tilted (about %.0f°, at most %.0f°); the visitor should hold the head upright", at, math.Abs(roll), q.MaxRoll)
	}
	return nil
}

// checkSamePerson refuses the new faces of one visitor (named where.photos[i])
// when two of them, or one of them and one of the ticket's faces kept
// (kept), are further apart than Quality.SamePersonDistance by the
// duplicate model, aligned as the face reader aligns (a kept face described
// only otherwise is not compared). The photo named is the one furthest from the others on
// the most counts: with two photos, the second.
func (s *Service) checkSamePerson(where string, found []store.NewFace, kept []store.Face) error {
	bound := s.cfg.Quality.SamePersonDistance
	if bound <= 0 {
		return nil
	}
	model, alignment := s.dupModel.Name, s.faces.Alignment(s.dupModel.Name)
	var descs [][]float32 // the new faces first, then the kept ones
	for _, f := range found {
		descs = append(descs, descriptorOf(f.Descriptors, model, alignment))
	}
	for _, f := range kept {
		descs = append(descs, descriptorOf(f.Descriptors, model, alignment))
	}
	far := make([]int, len(found))
	worst, pair, farthest := -1, -1, float32(0)
	for i := range found {
		for j := range descs {
			if i == j || descs[i] == nil || descs[j] == nil {
				continue
			}
			d := s.dupModel.Distance(descs[i], descs[j])
			if d <= bound {
				continue
			}
			far[i]++
			if worst < 0 || far[i] >= far[worst] {
				worst, pair, farthest = i, j, d
			}
		}
	}
	if worst < 0 {
		return nil
	}
	other := photoAt(where, pair)
	if pair >= len(found) {
		other = "the ticket's faces"
	}
	return &Error{Code: CodeDifferentPeople, Message: fmt.Sprintf(
		"%s does not show the same person as %s (distance %.2f, at most %.2f); every photo of a visitor must show that visitor alone",
		photoAt(where, worst), other, farthest, bound)}
}

// photoAt names photo i of where (a visitor of an order, or "" for the
// photos of a request that adds faces).
func photoAt(where string, i int) string {
	at := "photos[" + strconv.Itoa(i) + "]"
	if where == "" {
		return at
	}
	return where + "." + at
}

func descriptorOf(ds []store.Descriptor, model, alignment string) []float32 {
	for _, d := range ds {
		if faces.CanonicalModel(d.Model) == model && d.Alignment == alignment {
			return d.Values
		}
	}
	return nil
}

// tooManyPhotos refuses more than Config.MaxPhotos photos for one visitor.
func (s *Service) tooManyPhotos(where string, n int) error {
	if n <= s.cfg.MaxPhotos {
		return nil
	}
	return refuse(CodeTooManyPhotos, "%s: %d photos; a visitor may have 1 to %d (two or three good ones are best)", where, n, s.cfg.MaxPhotos)
}
