package faces

import "image"

// Face is one face found in an image.
type Face struct {
	// Rect bounds the face in the upright original image's coordinates
	// (see the package documentation). It may reach past the image's
	// edges.
	Rect image.Rectangle
	// Descriptor is the face's embedding.
	Descriptor Descriptor
	// Size is min(Rect.Dx(), Rect.Dy()) in original pixels: how much detail
	// the descriptor was computed from.
	Size int
	// TouchesBorder reports that Rect touches or crosses the image's edge,
	// so part of the face may be cut off and the descriptor less reliable.
	TouchesBorder bool
}
