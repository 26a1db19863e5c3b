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

	enroll := func(name string) faces.Descriptor {
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
		return face.Descriptor
	}
	ticket := enroll("obama.jpg")
	atGate := enroll("obama2.jpg")
	stranger := enroll("biden.jpg")

	fmt.Println("same person:", faces.Distance(ticket, atGate) < faces.DlibThreshold)
	fmt.Println("stranger:", faces.Distance(ticket, stranger) < faces.DlibThreshold)
	// Output:
	// same person: true
	// stranger: false
}
