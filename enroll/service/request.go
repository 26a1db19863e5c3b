package service

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/scenicgate/scenicgate/enroll/store"
	"github.com/scenicgate/scenicgate/internal/rules"
)

// Limits of a request's fields; a longer value is refused with
// CodeFieldTooLong, more zones or gates with CodeTooManyZones or
// CodeTooManyGates.
const (
	MaxNameLength     = 64  // characters of a visitor's name
	MaxPhoneLength    = 20  // characters of a phone number: digits, +, -, spaces
	MaxIDNumberLength = 32  // characters of an identity document number
	MaxReasonLength   = 200 // characters of a revoke, erase or re-issue reason
	MaxQueryLength    = 100 // characters of a search text
	MaxZones          = 64  // zones per ticket
	MaxGates          = 64  // gates per ticket
	MaxValidityDays   = 400 // days from a ticket's first to its last day
)

// OrderRequest is a paid order to turn into tickets.
type OrderRequest struct {
	OrderID string `json:"order_id"`
	// Consent records that every visitor in the order explicitly agreed to
	// the processing of their face.
	Consent  bool             `json:"consent"`
	Visitors []VisitorRequest `json:"visitors"`
}

// VisitorRequest is one visitor of an order.
type VisitorRequest struct {
	Name     string `json:"name"`
	Phone    string `json:"phone,omitempty"`
	IDNumber string `json:"id_number,omitempty"` // stored masked only
	// Consent records that this visitor explicitly agreed to the processing
	// of their face, when the order's Consent does not say so for all.
	// Photos need one or the other; consent is recorded only when given.
	Consent bool `json:"consent,omitempty"`
	// TicketType is single, multi, day_pass, multi_day, annual or timed.
	TicketType    string `json:"ticket_type"`
	Entries       int    `json:"entries,omitempty"`         // multi: entries in all
	EntriesPerDay int    `json:"entries_per_day,omitempty"` // multi_day, annual: per day, 0 = unlimited
	ValidFrom     string `json:"valid_from"`                // YYYY-MM-DD, site-local
	ValidTo       string `json:"valid_to,omitempty"`        // YYYY-MM-DD; default: valid_from (annual: a year on)
	// SlotStart and SlotEnd bound a timed ticket's entry slot: RFC 3339, or
	// HH:MM on valid_from in the site's time zone.
	SlotStart string   `json:"slot_start,omitempty"`
	SlotEnd   string   `json:"slot_end,omitempty"`
	Zones     []string `json:"zones,omitempty"`
	Gates     []string `json:"gates,omitempty"`
	// Photos are JPEG or PNG images, base64 in JSON.
	Photos [][]byte `json:"photos,omitempty"`
}

// Hash identifies the request's content, photos included, so a replay of
// the same order can be told from a different order under the same id.
func (r OrderRequest) Hash() string {
	b, _ := json.Marshal(r)
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

var orderIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$`)
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// validate checks the order and works out each visitor's ticket (without
// ids, tokens or faces).
func (s *Service) validate(r OrderRequest) ([]store.Ticket, error) {
	if !orderIDPattern.MatchString(r.OrderID) {
		return nil, invalid("order_id must be 1-128 characters of letters, digits and . _ : - (got %q)", r.OrderID)
	}
	if len(r.Visitors) == 0 {
		return nil, invalid("an order needs at least one visitor")
	}
	if len(r.Visitors) > s.cfg.MaxVisitors {
		return nil, invalid("an order may have at most %d visitors", s.cfg.MaxVisitors)
	}
	tickets := make([]store.Ticket, len(r.Visitors))
	for i, v := range r.Visitors {
		t, err := s.validateVisitor(v)
		if err != nil {
			if e, ok := err.(*Error); ok {
				e.Message = "visitors[" + strconv.Itoa(i) + "]: " + e.Message
			}
			return nil, err
		}
		if len(v.Photos) > 0 && !r.consents(i) {
			return nil, &Error{Code: CodeConsentRequired,
				Message: "visitors[" + strconv.Itoa(i) + "] has photos but neither the order nor the visitor has \"consent\": true; face data needs the visitor's explicit consent"}
		}
		t.VisitorIndex = i
		tickets[i] = t
	}
	return tickets, nil
}

// consents reports whether visitor i consented to face processing.
func (r OrderRequest) consents(i int) bool { return r.Consent || r.Visitors[i].Consent }

func (s *Service) validateVisitor(v VisitorRequest) (store.Ticket, error) {
	name := strings.TrimSpace(v.Name)
	if name == "" {
		return store.Ticket{}, invalid("name is required")
	}
	if n := utf8.RuneCountInString(name); n > MaxNameLength {
		return store.Ticket{}, refuse(CodeFieldTooLong, "name has %d characters; at most %d", n, MaxNameLength)
	}
	if n := utf8.RuneCountInString(v.IDNumber); n > MaxIDNumberLength {
		return store.Ticket{}, refuse(CodeFieldTooLong, "id_number has %d characters; at most %d", n, MaxIDNumberLength)
	}
	if _, ok := store.TicketTypes[v.TicketType]; !ok {
		return store.Ticket{}, invalid("ticket_type must be one of single, multi, day_pass, multi_day, annual, timed (got %q)", v.TicketType)
	}
	if err := s.tooManyPhotos("photos", len(v.Photos)); err != nil {
		return store.Ticket{}, err
	}
	if n := utf8.RuneCountInString(v.Phone); n > MaxPhoneLength {
		return store.Ticket{}, refuse(CodeFieldTooLong, "phone has %d characters; at most %d", n, MaxPhoneLength)
	}
	if strings.Trim(v.Phone, "+0123456789 -") != "" {
		return store.Ticket{}, invalid("phone must be digits (with + - or spaces)")
	}
	if len(v.Zones) > MaxZones {
		return store.Ticket{}, refuse(CodeTooManyZones, "%d zones; a ticket may name at most %d", len(v.Zones), MaxZones)
	}
	if len(v.Gates) > MaxGates {
		return store.Ticket{}, refuse(CodeTooManyGates, "%d gates; a ticket may name at most %d", len(v.Gates), MaxGates)
	}
	for _, list := range [][]string{v.Zones, v.Gates} {
		for _, z := range list {
			if !namePattern.MatchString(z) {
				return store.Ticket{}, invalid("zone and gate names are 1-64 letters, digits, . _ - (got %q)", z)
			}
		}
	}
	site := s.cfg.Site
	from, err := rules.ParseDate(v.ValidFrom)
	if err != nil {
		return store.Ticket{}, invalid("valid_from must be a date YYYY-MM-DD (got %q)", v.ValidFrom)
	}
	to := from
	if v.TicketType == "annual" {
		to = from.AddDays(365 - 1)
	}
	if v.ValidTo != "" {
		if to, err = rules.ParseDate(v.ValidTo); err != nil {
			return store.Ticket{}, invalid("valid_to must be a date YYYY-MM-DD (got %q)", v.ValidTo)
		}
	}
	if to.Before(from) {
		return store.Ticket{}, invalid("valid_to %s is before valid_from %s", to, from)
	}
	if from.AddDays(MaxValidityDays).Before(to) {
		return store.Ticket{}, invalid("a ticket may be valid for at most %d days", MaxValidityDays)
	}
	if last := site.Day(s.now()).AddDays(s.cfg.MaxDaysAhead); last.Before(to) {
		return store.Ticket{}, refuse(CodeValidityOutOfRange, "a ticket's last day may be at most %d days from today, %s (got %s)",
			s.cfg.MaxDaysAhead, last, to)
	}
	start, until, err := site.ValidityWindow(from, to)
	if err != nil {
		return store.Ticket{}, invalid("validity: %v", err)
	}
	if !until.After(s.now()) {
		return store.Ticket{}, invalid("the ticket's last day %s is over", to)
	}
	t := store.Ticket{
		VisitorName:    name,
		Phone:          strings.TrimSpace(v.Phone),
		IDNumberMasked: maskIDNumber(v.IDNumber),
		Type:           v.TicketType,
		EntriesPerDay:  v.EntriesPerDay,
		ValidFrom:      from.String(),
		ValidTo:        to.String(),
		ValidStart:     start,
		ValidUntil:     until,
		Zones:          v.Zones,
		Gates:          v.Gates,
	}
	switch v.TicketType {
	case "multi":
		if v.Entries < 1 || v.Entries > 1000 {
			return store.Ticket{}, invalid("a multi ticket needs entries between 1 and 1000")
		}
		t.EntriesAllowed = v.Entries
	case "single", "timed":
		t.EntriesAllowed = 1
	}
	if v.EntriesPerDay < 0 || v.EntriesPerDay > 100 {
		return store.Ticket{}, invalid("entries_per_day must be between 0 (unlimited) and 100")
	}
	if v.TicketType == "timed" {
		if t.SlotStart, err = parseSlot(v.SlotStart, from, site); err != nil {
			return store.Ticket{}, invalid("slot_start: %v", err)
		}
		if t.SlotEnd, err = parseSlot(v.SlotEnd, from, site); err != nil {
			return store.Ticket{}, invalid("slot_end: %v", err)
		}
		if !t.SlotEnd.After(t.SlotStart) {
			return store.Ticket{}, invalid("slot_end must be after slot_start")
		}
		if t.SlotStart.Before(start) || t.SlotEnd.After(until) {
			return store.Ticket{}, invalid("the slot must lie within the ticket's validity")
		}
	} else if v.SlotStart != "" || v.SlotEnd != "" {
		return store.Ticket{}, invalid("slot_start and slot_end apply to timed tickets only")
	}
	return t, nil
}

// parseSlot reads an RFC 3339 instant, or HH:MM on day in the site's zone.
func parseSlot(s string, day rules.Date, site rules.Site) (time.Time, error) {
	if s == "" {
		return time.Time{}, errorString("required for timed tickets")
	}
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	hm, err := time.Parse("15:04", s)
	if err != nil {
		return time.Time{}, errorString("want RFC 3339 or HH:MM, got " + s)
	}
	return site.StartOfDay(day).Add(time.Duration(hm.Hour())*time.Hour + time.Duration(hm.Minute())*time.Minute), nil
}

type errorString string

func (e errorString) Error() string { return string(e) }

// maskIDNumber keeps the first three and last four characters of an identity
// number: enough for staff to check a document, not enough to misuse.
func maskIDNumber(id string) string {
	id = strings.TrimSpace(id)
	r := []rune(id)
	if len(r) <= 7 {
		return strings.Repeat("*", len(r))
	}
	return string(r[:3]) + strings.Repeat("*", len(r)-7) + string(r[len(r)-4:])
}
