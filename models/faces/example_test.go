package faces_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	"github.com/scenicgate/scenicgate/internal/testenv"
	"github.com/scenicgate/scenicgate/models/faces"
)

// Example_enroll enrolls two photos of the same person and one of another,
// and compares the descriptors as a gate would.
func Example_enroll() {
	modelDir := os.Getenv("SCENICGATE_MODELS")
	if modelDir == "" {
		modelDir = filepath.Join(testenv.Root(), "models")
	}
	engine, err := faces.Open(faces.Config{ModelDir: modelDir, Workers: 1})
	if err != nil {
		log.Fatal(err)
	}
	defer engine.Close()

	enroll := func(name string) faces.Face {
		photo, err := os.ReadFile(filepath.Join(testenv.PhotoDir(), name))
		if err != nil {
			log.Fatal(err)
		}
		face, err := engine.Enroll(context.Background(), photo)
		switch {
		case errors.Is(err, faces.ErrNoFace), errors.Is(err, faces.ErrManyFaces), errors.Is(err, faces.ErrFaceTooSmall):
			log.Fatalf("%s: ask the visitor for another photo: %v", name, err)
		case err != nil:
			log.Fatal(err)
		}
		return face
	}
	ticket := enroll("obama.jpg")
	atGate := enroll("obama2.jpg")
	stranger := enroll("biden.jpg")

	// Each model compares its own descriptors, with its own threshold.
	for _, m := range engine.Models() {
		same := m.Distance(ticket.Descriptor(m.Name), atGate.Descriptor(m.Name))
		other := m.Distance(ticket.Descriptor(m.Name), stranger.Descriptor(m.Name))
		fmt.Printf("%s: same person %v, stranger %v\n", m.Name, same < m.Threshold, other < m.Threshold)
	}
	// Output:
	// dlib: same person true, stranger false
	// mobilefacenet: same person true, stranger false
	// fr-feature: same person true, stranger false
}
