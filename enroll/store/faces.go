package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"
	"time"

	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

// NewFace is a face to store with a ticket: one photo's descriptors, one
// per model.
type NewFace struct {
	ID          string
	Descriptors []Descriptor
	Size        int
	ConsentAt   time.Time // when the visitor consented; a face is stored only with consent
	Photo       *Photo    // nil unless the site keeps photos
}

func facesOf(ctx context.Context, q querier, ticketID string) ([]Face, error) {
	rows, err := q.QueryContext(ctx,
		`SELECT f.face_id, f.face_size, f.created_ms, f.consent_ms, d.model, d.alignment, d.descriptor
		 FROM faces f LEFT JOIN descriptors d USING (face_id)
		 WHERE f.ticket_id = ? ORDER BY f.created_ms, f.face_id, d.model, d.alignment`,
		ticketID)
	if err != nil {
		return nil, fmt.Errorf("store: faces of %q: %w", ticketID, err)
	}
	defer rows.Close()
	faces := []Face{}
	for rows.Next() {
		var f Face
		var created, consent int64
		var model, alignment sql.NullString
		var blob []byte
		if err := rows.Scan(&f.ID, &f.Size, &created, &consent, &model, &alignment, &blob); err != nil {
			return nil, fmt.Errorf("store: faces of %q: %w", ticketID, err)
		}
		if n := len(faces); n == 0 || faces[n-1].ID != f.ID {
			f.TicketID, f.CreatedAt, f.ConsentAt = ticketID, sqlitedb.Time(created), sqlitedb.Time(consent)
			faces = append(faces, f)
		}
		if !model.Valid {
			continue // a face whose descriptors were all dropped
		}
		values, err := decodeDescriptor(blob)
		if err != nil {
			return nil, fmt.Errorf("store: face %s model %s: %w", f.ID, model.String, err)
		}
		last := &faces[len(faces)-1]
		last.Descriptors = append(last.Descriptors, Descriptor{Model: model.String, Alignment: alignment.String, Values: values})
	}
	return faces, rows.Err()
}

func insertDescriptors(ctx context.Context, tx *sql.Tx, faceID string, ds []Descriptor) error {
	for _, d := range ds {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO descriptors (face_id, model, alignment, descriptor) VALUES (?, ?, ?, ?)
			 ON CONFLICT (face_id, model, alignment) DO UPDATE SET descriptor = excluded.descriptor`,
			faceID, d.Model, d.Alignment, encodeDescriptor(d.Values)); err != nil {
			return fmt.Errorf("insert %s descriptor of face %s: %w", d.Model, faceID, err)
		}
	}
	return nil
}

func insertFaces(ctx context.Context, tx *sql.Tx, ticketID string, faces []NewFace, now int64) error {
	for _, f := range faces {
		if f.ConsentAt.IsZero() {
			return fmt.Errorf("insert face %s: no consent recorded", f.ID)
		}
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO faces (face_id, ticket_id, face_size, created_ms, consent_ms) VALUES (?, ?, ?, ?, ?)`,
			f.ID, ticketID, f.Size, now, sqlitedb.Millis(f.ConsentAt)); err != nil {
			return fmt.Errorf("insert face: %w", err)
		}
		if err := insertDescriptors(ctx, tx, f.ID, f.Descriptors); err != nil {
			return err
		}
		if f.Photo != nil {
			if _, err := tx.ExecContext(ctx, `INSERT INTO photos (face_id, mime, data) VALUES (?, ?, ?)`,
				f.ID, f.Photo.MIME, f.Photo.Data); err != nil {
				return fmt.Errorf("insert photo: %w", err)
			}
		}
	}
	return nil
}

// SetFaces adds faces to a ticket, or with replace deletes its faces first.
// Each face carries its own consent time, and the ticket records the first
// consent it ever got. A revoked ticket keeps no faces, so adding to one is
// refused with ErrRevoked; a purged one would keep them past its purge, so
// it gives ErrEnded.
func (s *Store) SetFaces(ctx context.Context, id string, faces []NewFace, replace bool, actor string) (Ticket, error) {
	return s.change(ctx, id, func(tx *sql.Tx, t Ticket, now int64) (bool, error) {
		if t.Revoked {
			return false, fmt.Errorf("store: ticket %q: %w", id, ErrRevoked)
		}
		if !t.PurgedAt.IsZero() {
			return false, fmt.Errorf("store: ticket %q: %w", id, ErrEnded)
		}
		if replace {
			if _, err := tx.ExecContext(ctx, `DELETE FROM faces WHERE ticket_id = ?`, id); err != nil {
				return false, err
			}
		}
		if err := insertFaces(ctx, tx, id, faces, now); err != nil {
			return false, err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE tickets SET erased_ms = 0 WHERE ticket_id = ?`, id); err != nil {
			return false, err
		}
		if len(faces) > 0 {
			if _, err := tx.ExecContext(ctx, `UPDATE tickets SET consent_ms = ? WHERE ticket_id = ? AND consent_ms = 0`,
				sqlitedb.Millis(faces[0].ConsentAt), id); err != nil {
				return false, err
			}
		}
		return true, audit(ctx, tx, now, actor, "ticket.faces", id, t.OrderID,
			map[string]any{"added": len(faces), "replace": replace, "before": len(t.Faces)})
	})
}

// FaceToDescribe is a kept photo of a face that has no descriptor from some
// model with some alignment yet.
type FaceToDescribe struct {
	FaceID, TicketID string
	Photo            Photo
}

// FacesLacking returns the faces of tickets that are not revoked and have
// not ended before after, that have no descriptor from model with
// alignment, and whose photo was kept: those a new model or detector can
// still describe.
func (s *Store) FacesLacking(ctx context.Context, model, alignment string, after int64) ([]FaceToDescribe, error) {
	rows, err := s.db.Read.QueryContext(ctx,
		`SELECT f.face_id, f.ticket_id, p.mime, p.data
		 FROM faces f JOIN tickets t USING (ticket_id) JOIN photos p USING (face_id)
		 WHERE t.revoked = 0 AND t.valid_until_ms > ?
		   AND NOT EXISTS (SELECT 1 FROM descriptors d WHERE d.face_id = f.face_id AND d.model = ? AND d.alignment = ?)
		 ORDER BY f.ticket_id, f.face_id`, after, model, alignment)
	if err != nil {
		return nil, fmt.Errorf("store: faces lacking %s: %w", model, err)
	}
	defer rows.Close()
	var out []FaceToDescribe
	for rows.Next() {
		var f FaceToDescribe
		if err := rows.Scan(&f.FaceID, &f.TicketID, &f.Photo.MIME, &f.Photo.Data); err != nil {
			return nil, fmt.Errorf("store: faces lacking %s: %w", model, err)
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// CountFacesLacking returns how many faces of usable tickets have no
// descriptor from model with alignment, and how many of those have no kept
// photo either, so that only enrolling again can describe them.
func (s *Store) CountFacesLacking(ctx context.Context, model, alignment string, after int64) (lacking, withoutPhoto int, err error) {
	err = s.db.Read.QueryRowContext(ctx,
		`SELECT count(*), coalesce(sum(p.face_id IS NULL), 0)
		 FROM faces f JOIN tickets t USING (ticket_id) LEFT JOIN photos p USING (face_id)
		 WHERE t.revoked = 0 AND t.valid_until_ms > ?
		   AND NOT EXISTS (SELECT 1 FROM descriptors d WHERE d.face_id = f.face_id AND d.model = ? AND d.alignment = ?)`,
		after, model, alignment).Scan(&lacking, &withoutPhoto)
	if err != nil {
		return 0, 0, fmt.Errorf("store: count faces lacking %s: %w", model, err)
	}
	return lacking, withoutPhoto, nil
}

// AddDescriptor stores a face's descriptor from another model (or another
// alignment) and
// republishes its ticket, which it returns. A face that is gone (erased,
// revoked, purged since it was read) gives ErrNotFound and changes nothing.
func (s *Store) AddDescriptor(ctx context.Context, ticketID, faceID string, d Descriptor, actor string) (Ticket, error) {
	return s.change(ctx, ticketID, func(tx *sql.Tx, t Ticket, now int64) (bool, error) {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT count(*) FROM faces WHERE face_id = ? AND ticket_id = ?`, faceID, ticketID).Scan(&n); err != nil {
			return false, err
		}
		if n == 0 || t.Revoked {
			return false, fmt.Errorf("store: face %q of ticket %q: %w", faceID, ticketID, ErrNotFound)
		}
		if err := insertDescriptors(ctx, tx, faceID, []Descriptor{d}); err != nil {
			return false, err
		}
		return true, audit(ctx, tx, now, actor, "face.describe", ticketID, t.OrderID,
			map[string]any{"face": faceID, "model": d.Model, "alignment": d.Alignment})
	})
}

// Photo returns the kept photo of a face, or ErrNotFound.
func (s *Store) Photo(ctx context.Context, faceID string) (Photo, error) {
	var p Photo
	err := s.db.Read.QueryRowContext(ctx, `SELECT mime, data FROM photos WHERE face_id = ?`, faceID).Scan(&p.MIME, &p.Data)
	if err == sql.ErrNoRows {
		return Photo{}, fmt.Errorf("store: photo of face %q: %w", faceID, ErrNotFound)
	}
	return p, err
}

// ActiveFace is a face's descriptor by one model, of a ticket that can
// still be used, for enroll's duplicate check.
type ActiveFace struct {
	TicketID     string
	OrderID      string
	Source       string // the order's creator, see Ticket.Source
	ValidUntilMs int64
	Descriptor   []float32
}

// ActiveFaces returns the descriptors by model with alignment of the faces
// of tickets that are not revoked and have not ended before after.
func (s *Store) ActiveFaces(ctx context.Context, model, alignment string, after int64) ([]ActiveFace, error) {
	rows, err := s.db.Read.QueryContext(ctx,
		`SELECT f.ticket_id, t.order_id, o.source, t.valid_until_ms, d.descriptor
		 FROM faces f JOIN tickets t USING (ticket_id) JOIN orders o USING (order_id) JOIN descriptors d USING (face_id)
		 WHERE t.revoked = 0 AND t.valid_until_ms > ? AND d.model = ? AND d.alignment = ?`, after, model, alignment)
	if err != nil {
		return nil, fmt.Errorf("store: active faces: %w", err)
	}
	defer rows.Close()
	var out []ActiveFace
	for rows.Next() {
		var a ActiveFace
		var blob []byte
		if err := rows.Scan(&a.TicketID, &a.OrderID, &a.Source, &a.ValidUntilMs, &blob); err != nil {
			return nil, fmt.Errorf("store: active faces: %w", err)
		}
		if a.Descriptor, err = decodeDescriptor(blob); err != nil {
			return nil, fmt.Errorf("store: active face of %s: %w", a.TicketID, err)
		}
		out = append(out, a)
	}
	return out, rows.Err()
}

// Descriptors are stored as little-endian float32s.
func encodeDescriptor(d []float32) []byte {
	b := make([]byte, 4*len(d))
	for i, v := range d {
		binary.LittleEndian.PutUint32(b[4*i:], math.Float32bits(v))
	}
	return b
}

func decodeDescriptor(b []byte) ([]float32, error) {
	if len(b)%4 != 0 || len(b) == 0 {
		return nil, fmt.Errorf("descriptor of %d bytes", len(b))
	}
	d := make([]float32, len(b)/4)
	for i := range d {
		d[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
	}
	return d, nil
}
