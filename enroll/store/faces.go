package store

import (
	"context"
	"database/sql"
	"encoding/binary"
	"fmt"
	"math"

	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

// NewFace is a face to store with a ticket.
type NewFace struct {
	ID         string
	Model      string
	Descriptor []float32
	Size       int
	Photo      *Photo // nil unless the site keeps photos
}

func facesOf(ctx context.Context, q querier, ticketID string) ([]Face, error) {
	rows, err := q.QueryContext(ctx,
		`SELECT face_id, model, descriptor, face_size, created_ms FROM faces WHERE ticket_id = ? ORDER BY created_ms, face_id`,
		ticketID)
	if err != nil {
		return nil, fmt.Errorf("store: faces of %q: %w", ticketID, err)
	}
	defer rows.Close()
	faces := []Face{}
	for rows.Next() {
		var f Face
		var blob []byte
		var created int64
		if err := rows.Scan(&f.ID, &f.Model, &blob, &f.Size, &created); err != nil {
			return nil, fmt.Errorf("store: faces of %q: %w", ticketID, err)
		}
		f.TicketID, f.CreatedAt = ticketID, sqlitedb.Time(created)
		if f.Descriptor, err = decodeDescriptor(blob); err != nil {
			return nil, fmt.Errorf("store: face %s: %w", f.ID, err)
		}
		faces = append(faces, f)
	}
	return faces, rows.Err()
}

func insertFaces(ctx context.Context, tx *sql.Tx, ticketID string, faces []NewFace, now int64) error {
	for _, f := range faces {
		if _, err := tx.ExecContext(ctx,
			`INSERT INTO faces (face_id, ticket_id, model, descriptor, face_size, created_ms) VALUES (?, ?, ?, ?, ?, ?)`,
			f.ID, ticketID, f.Model, encodeDescriptor(f.Descriptor), f.Size, now); err != nil {
			return fmt.Errorf("insert face: %w", err)
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
// A revoked ticket keeps no faces, so adding to one is refused with
// ErrRevoked.
func (s *Store) SetFaces(ctx context.Context, id string, faces []NewFace, replace bool, actor string) (Ticket, error) {
	return s.change(ctx, id, func(tx *sql.Tx, t Ticket, now int64) (bool, error) {
		if t.Revoked {
			return false, fmt.Errorf("store: ticket %q: %w", id, ErrRevoked)
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
		return true, audit(ctx, tx, now, actor, "ticket.faces", id, t.OrderID,
			map[string]any{"added": len(faces), "replace": replace, "before": len(t.Faces)})
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

// ActiveFace is a face of a ticket that can still be used, for enroll's
// duplicate check.
type ActiveFace struct {
	TicketID     string
	OrderID      string
	ValidUntilMs int64
	Descriptor   []float32
}

// ActiveFaces returns the faces of tickets that are not revoked and have not
// ended before after.
func (s *Store) ActiveFaces(ctx context.Context, after int64) ([]ActiveFace, error) {
	rows, err := s.db.Read.QueryContext(ctx,
		`SELECT f.ticket_id, t.order_id, t.valid_until_ms, f.descriptor FROM faces f JOIN tickets t USING (ticket_id)
		 WHERE t.revoked = 0 AND t.valid_until_ms > ?`, after)
	if err != nil {
		return nil, fmt.Errorf("store: active faces: %w", err)
	}
	defer rows.Close()
	var out []ActiveFace
	for rows.Next() {
		var a ActiveFace
		var blob []byte
		if err := rows.Scan(&a.TicketID, &a.OrderID, &a.ValidUntilMs, &blob); err != nil {
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
