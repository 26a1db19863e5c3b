package service

import (
	"context"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/scenicgate/scenicgate/admin/store"
)

// ConflictView is a conflict with the admissions it counts.
type ConflictView struct {
	store.Conflict
	Rows []store.Admission // the admissions, oldest first
}

// Conflicts returns the open conflicts (open true) or the resolved ones,
// each with its admissions, newest first.
func (s *Service) Conflicts(ctx context.Context, open bool) ([]ConflictView, error) {
	list, err := s.store.Conflicts(ctx, open, 200)
	if err != nil {
		return nil, err
	}
	out := make([]ConflictView, 0, len(list))
	for _, c := range list {
		adm, err := s.store.ConflictAdmissions(ctx, c)
		if err != nil {
			return nil, err
		}
		out = append(out, ConflictView{Conflict: c, Rows: adm})
	}
	return out, nil
}

// OpenConflicts counts the conflicts still to review.
func (s *Service) OpenConflicts(ctx context.Context) (int, error) { return s.store.OpenConflicts(ctx) }

// ResolveConflict records that staff reviewed a conflict, with a note of
// what they found or did. Operators and admins only.
func (s *Service) ResolveConflict(ctx context.Context, a Actor, id int64, note string) error {
	if err := allow(a, store.Operator); err != nil {
		return err
	}
	note = strings.TrimSpace(note)
	if note == "" {
		return ErrNoteRequired
	}
	if utf8.RuneCountInString(note) > 500 {
		return ErrReasonTooLong
	}
	c, err := s.store.Conflict(ctx, id)
	if err != nil {
		return err
	}
	if err := s.store.ResolveConflict(ctx, id, a.Name, note, s.now()); err != nil {
		return err
	}
	s.audit(ctx, a, ActionConflictResolve, conflictTarget(c), note, true)
	return nil
}

// conflictTarget names a conflict in the audit log: the ticket, with the
// entry number or the day the conflict is about.
func conflictTarget(c store.Conflict) string {
	switch {
	case c.EntryNumber > 0:
		return c.TicketID + " #" + strconv.Itoa(c.EntryNumber)
	case c.Day != "":
		return c.TicketID + " " + c.Day
	}
	return c.TicketID
}
