// Package enrollclient calls enroll's REST API (enroll/api/openapi.yaml) for
// what staff do with tickets: search, read, revoke and erase biometrics.
// enroll is the system of record for tickets; admin never changes one
// behind its back.
package enrollclient

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Sentinel errors; test with errors.Is.
var (
	// ErrNotConfigured: admin was started without --enroll-url or
	// --enroll-key.
	ErrNotConfigured = errors.New("enroll: not configured")
	// ErrNotFound: enroll has no such ticket.
	ErrNotFound = errors.New("enroll: not found")
	// ErrUnauthorized: enroll refused the API key.
	ErrUnauthorized = errors.New("enroll: API key refused")
	// ErrUnavailable: enroll could not be reached or failed inside.
	ErrUnavailable = errors.New("enroll: unavailable")
)

// APIError is any other refusal by enroll; it wraps the matching sentinel
// when there is one.
type APIError struct {
	Status  int
	Code    string // enroll's error code, e.g. "invalid_request"
	Message string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("enroll: %d %s: %s", e.Status, e.Code, e.Message)
}

func (e *APIError) Unwrap() error {
	switch {
	case e.Status == http.StatusNotFound:
		return ErrNotFound
	case e.Status == http.StatusUnauthorized:
		return ErrUnauthorized
	case e.Status >= 500:
		return ErrUnavailable
	}
	return nil
}

// Ticket is a ticket as enroll returns it to a staff key: descriptors never
// leave enroll, and QR tokens are only for the shop that sold the ticket.
type Ticket struct {
	TicketID       string     `json:"ticket_id"`
	OrderID        string     `json:"order_id"`
	VisitorIndex   int        `json:"visitor_index"`
	Name           string     `json:"name"`
	Phone          string     `json:"phone"`
	IDNumberMasked string     `json:"id_number_masked"`
	TicketType     string     `json:"ticket_type"`
	Entries        int        `json:"entries"`
	EntriesPerDay  int        `json:"entries_per_day"`
	ValidFrom      string     `json:"valid_from"`
	ValidTo        string     `json:"valid_to"`
	SlotStart      *time.Time `json:"slot_start"`
	SlotEnd        *time.Time `json:"slot_end"`
	Zones          []string   `json:"zones"`
	Gates          []string   `json:"gates"`
	Revoked        bool       `json:"revoked"`
	RevokeReason   string     `json:"revoke_reason"`
	RevokedAt      *time.Time `json:"revoked_at"`
	Faces          []Face     `json:"faces"`
	ErasedAt       *time.Time `json:"biometrics_erased_at"`
	PurgedAt       *time.Time `json:"purged_at"`
	ConsentAt      *time.Time `json:"consent_at"`
	CreatedAt      time.Time  `json:"created_at"`
	UpdatedAt      time.Time  `json:"updated_at"`
	Version        int64      `json:"version"`
}

// Face is one enrolled face, without its descriptor.
type Face struct {
	FaceID    string    `json:"face_id"`
	Models    []string  `json:"models"`
	CreatedAt time.Time `json:"created_at"`
}

// Page is one page of search results.
type Page struct {
	Tickets []Ticket `json:"tickets"`
	Total   int      `json:"total"`
	Page    int      `json:"page"`
	PerPage int      `json:"per_page"`
}

// Client calls one enroll. It is safe for concurrent use.
type Client struct {
	base string
	key  string
	http *http.Client
}

// New returns a client of the enroll at baseURL authenticating with key,
// trusting the system's certificate authorities for an https URL. Either
// empty makes every call fail with ErrNotConfigured.
func New(baseURL, key string) *Client {
	return &Client{base: strings.TrimRight(baseURL, "/"), key: key, http: &http.Client{Timeout: 15 * time.Second}}
}

// NewWithCA is New for an enroll whose certificate is issued by the
// certificate authority in the PEM file caFile (a site's own CA, or the
// self-signed certificate itself), and by no other.
func NewWithCA(baseURL, key, caFile string) (*Client, error) {
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("enroll: CA certificate: %w", err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("enroll: CA certificate %s: no PEM certificate in it", caFile)
	}
	c := New(baseURL, key)
	c.http.Transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}}
	return c, nil
}

// Plain reports whether the client sends its API key unencrypted to
// another machine: an http URL whose host is not loopback.
func (c *Client) Plain() bool {
	u, err := url.Parse(c.base)
	if err != nil || u.Scheme != "http" {
		return false
	}
	if u.Hostname() == "localhost" {
		return false
	}
	ip := net.ParseIP(u.Hostname())
	return ip == nil || !ip.IsLoopback()
}

// Configured reports whether the client has a URL and a key.
func (c *Client) Configured() bool { return c.base != "" && c.key != "" }

// Search finds tickets by ticket id, order id, name prefix or the last four
// or more digits of a phone number. page starts at 1.
func (c *Client) Search(ctx context.Context, q string, page, perPage int) (Page, error) {
	v := url.Values{"q": {q}, "page": {strconv.Itoa(max(page, 1))}, "per_page": {strconv.Itoa(perPage)}}
	var p Page
	err := c.do(ctx, http.MethodGet, "/api/v1/tickets?"+v.Encode(), nil, &p)
	return p, err
}

// Ticket returns one ticket; ErrNotFound when enroll has none with that id.
func (c *Client) Ticket(ctx context.Context, id string) (Ticket, error) {
	var t Ticket
	err := c.do(ctx, http.MethodGet, "/api/v1/tickets/"+url.PathEscape(id), nil, &t)
	return t, err
}

// Revoke revokes a ticket with a reason (at most 200 characters, enroll's
// limit) and returns it as revoked.
func (c *Client) Revoke(ctx context.Context, id, reason string) (Ticket, error) {
	var t Ticket
	err := c.do(ctx, http.MethodPost, "/api/v1/tickets/"+url.PathEscape(id)+"/revoke", map[string]string{"reason": reason}, &t)
	return t, err
}

// EraseBiometrics deletes a ticket's face data; the ticket still admits by
// QR code.
func (c *Client) EraseBiometrics(ctx context.Context, id, reason string) (Ticket, error) {
	var t Ticket
	path := "/api/v1/tickets/" + url.PathEscape(id) + "/biometrics?" + url.Values{"reason": {reason}}.Encode()
	err := c.do(ctx, http.MethodDelete, path, nil, &t)
	return t, err
}

func (c *Client) do(ctx context.Context, method, path string, body, out any) error {
	if !c.Configured() {
		return ErrNotConfigured
	}
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, r)
	if err != nil {
		return fmt.Errorf("enroll: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return fmt.Errorf("%w: read answer: %v", ErrUnavailable, err)
	}
	if resp.StatusCode >= 300 {
		var e struct {
			Error struct {
				Code    string `json:"code"`
				Message string `json:"message"`
			} `json:"error"`
		}
		json.Unmarshal(data, &e) // a body that is not enroll's error still gives the status
		return &APIError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("%w: undecodable answer: %v", ErrUnavailable, err)
	}
	return nil
}
