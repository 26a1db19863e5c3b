package service

import (
	"errors"
	"fmt"

	"github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/models/faces"
)

// Error codes, stable for API clients. The API maps each to an HTTP status.
const (
	CodeInvalidRequest  = "invalid_request"
	CodeConsentRequired = "consent_required"
	CodeNoFace          = "no_face"
	CodeManyFaces       = "many_faces"
	CodeFaceTooSmall    = "face_too_small"
	// Photo quality, each a 422 naming the photo (see Quality).
	CodeFaceBlurred     = "face_blurred"
	CodeFaceNotFrontal  = "face_not_frontal"
	CodeDifferentPeople = "different_people"
	// CodeTooManyPhotos: more than Config.MaxPhotos photos for a visitor
	// (a ticket's faces kept count too when faces are added).
	CodeTooManyPhotos    = "too_many_photos"
	CodeUnsupportedImage = "unsupported_image"
	CodeCorruptImage     = "corrupt_image"
	CodeImageTooLarge    = "image_too_large"
	CodeDuplicateFace    = "duplicate_face"
	CodeOrderConflict    = "order_conflict"
	CodeNotFound         = "not_found"
	CodeTicketRevoked    = "ticket_revoked"
	// CodeTicketEnded: the ticket's validity is over, or it was purged;
	// it takes no new faces and no new QR code.
	CodeTicketEnded = "ticket_ended"
	// CodeForbidden: the API key's scope does not allow the operation.
	CodeForbidden = "forbidden"
	// Input limits, each a 400.
	CodeValidityOutOfRange = "validity_out_of_range"
	CodeTooManyZones       = "too_many_zones"
	CodeTooManyGates       = "too_many_gates"
	CodeFieldTooLong       = "field_too_long"
	// Warnings, not errors.
	CodeFaceAtEdge = "face_at_edge"
	// CodeImageRepaired: the photo file was damaged (a JPEG without its
	// end-of-image marker, say) but every pixel could be read.
	CodeImageRepaired = "image_repaired"
)

// Error is a refusal the caller can act on: a stable code and a message for
// people. Err, when set, is the cause.
type Error struct {
	Code    string
	Message string
	Err     error
}

func (e *Error) Error() string { return e.Message }
func (e *Error) Unwrap() error { return e.Err }

func invalid(format string, args ...any) *Error {
	return &Error{Code: CodeInvalidRequest, Message: fmt.Sprintf(format, args...)}
}

func refuse(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// notFound is the answer for a ticket that does not exist and for one the
// caller may not see alike, so that a key cannot tell them apart.
func notFound() *Error {
	return &Error{Code: CodeNotFound, Message: "no such ticket", Err: store.ErrNotFound}
}

// photoError names the photo that failed and why, with the face engine's
// typed error mapped to a code.
func photoError(where string, err error) error {
	codes := []struct {
		err  error
		code string
		msg  string
	}{
		{faces.ErrNoFace, CodeNoFace, "no face found"},
		{faces.ErrManyFaces, CodeManyFaces, "more than one face; send a photo of this visitor alone"},
		{faces.ErrFaceTooSmall, CodeFaceTooSmall, "the face is too small; move closer or send a larger photo"},
		{faces.ErrUnsupportedImage, CodeUnsupportedImage, "not a JPEG or PNG image"},
		{faces.ErrImageTooLarge, CodeImageTooLarge, "image dimensions exceed the limit"},
		{faces.ErrCorruptImage, CodeCorruptImage, "the image data is damaged or incomplete"},
	}
	for _, c := range codes {
		if errors.Is(err, c.err) {
			return &Error{Code: c.code, Message: where + ": " + c.msg, Err: err}
		}
	}
	return fmt.Errorf("%s: %w", where, err)
}

// storeError maps the store's sentinels to codes.
func storeError(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &Error{Code: CodeNotFound, Message: "no such ticket", Err: err}
	case errors.Is(err, store.ErrOrderConflict):
		return &Error{Code: CodeOrderConflict, Message: "this order id was already used for different content", Err: err}
	case errors.Is(err, store.ErrRevoked):
		return &Error{Code: CodeTicketRevoked, Message: "the ticket is revoked", Err: err}
	case errors.Is(err, store.ErrEnded):
		return &Error{Code: CodeTicketEnded, Message: "the ticket has ended", Err: err}
	}
	return err
}
