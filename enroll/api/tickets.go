package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/scenicgate/scenicgate/enroll/service"
)

type orderResponse struct {
	OrderID string       `json:"order_id"`
	Tickets []ticketView `json:"tickets"`
}

// createTickets: POST /api/v1/tickets, JSON (photos in base64) or multipart
// (a part "order" with the JSON, photos as files named photos.<visitor index>).
func (s *Server) createTickets(c *gin.Context) {
	var req service.OrderRequest
	var err error
	if isMultipart(c.Request) {
		err = s.decodeMultipartOrder(c, &req)
	} else {
		err = decodeJSON(c.Request.Body, &req)
	}
	if err != nil {
		s.badBody(c, err)
		return
	}
	res, err := s.svc.CreateOrder(c.Request.Context(), caller(c), req)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := orderResponse{OrderID: res.OrderID, Tickets: []ticketView{}}
	for _, t := range res.Tickets {
		out.Tickets = append(out.Tickets, viewIssued(t))
	}
	status := http.StatusOK
	if res.Created {
		status = http.StatusCreated
	}
	c.JSON(status, out)
}

func (s *Server) getTicket(c *gin.Context) {
	t, err := s.svc.Ticket(c.Request.Context(), caller(c), c.Param("id"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewIssued(t))
}

type listResponse struct {
	Tickets []ticketView `json:"tickets"`
	Total   int          `json:"total"`
	Page    int          `json:"page"`
	PerPage int          `json:"per_page"`
}

func (s *Server) listTickets(c *gin.Context) {
	q := service.SearchQuery{OrderID: c.Query("order"), Text: c.Query("q"), ValidOn: c.Query("valid_on")}
	for name, dst := range map[string]*int{"page": &q.Page, "per_page": &q.PerPage} {
		if v := c.Query(name); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 {
				abort(c, http.StatusBadRequest, service.CodeInvalidRequest, name+" must be a positive whole number")
				return
			}
			*dst = n
		}
	}
	tickets, total, err := s.svc.Search(c.Request.Context(), caller(c), q)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := listResponse{Tickets: []ticketView{}, Total: total, Page: max(q.Page, 1), PerPage: q.PerPage}
	if out.PerPage < 1 || out.PerPage > 200 {
		out.PerPage = 50
	}
	for _, t := range tickets {
		out.Tickets = append(out.Tickets, viewTicket(t))
	}
	c.JSON(http.StatusOK, out)
}

type facesRequest struct {
	Photos  [][]byte `json:"photos"`
	Replace bool     `json:"replace"`
	Consent bool     `json:"consent"`
}

// addFaces: POST /api/v1/tickets/:id/faces, JSON or multipart (fields
// "replace" and "consent", files "photos").
func (s *Server) addFaces(c *gin.Context) {
	var req facesRequest
	var err error
	if isMultipart(c.Request) {
		err = s.decodeMultipartFaces(c, &req)
	} else {
		err = decodeJSON(c.Request.Body, &req)
	}
	if err != nil {
		s.badBody(c, err)
		return
	}
	t, warnings, err := s.svc.AddFaces(c.Request.Context(), caller(c), c.Param("id"), req.Photos, req.Replace, req.Consent)
	if err != nil {
		s.fail(c, err)
		return
	}
	v := viewIssued(t)
	v.Warnings = warnings
	c.JSON(http.StatusOK, v)
}

type revokeRequest struct {
	Reason string `json:"reason"`
}

func (s *Server) revoke(c *gin.Context) {
	var req revokeRequest
	if err := decodeJSON(c.Request.Body, &req); err != nil {
		s.badBody(c, err)
		return
	}
	t, err := s.svc.Revoke(c.Request.Context(), caller(c), c.Param("id"), req.Reason)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewIssued(t))
}

type reissueRequest struct {
	Reason string `json:"reason"`
}

// reissueQR: POST /api/v1/tickets/:id/qr, with an optional JSON body
// {"reason": "..."}.
func (s *Server) reissueQR(c *gin.Context) {
	var req reissueRequest
	if err := decodeJSON(c.Request.Body, &req); err != nil && !errors.Is(err, errEmptyBody) {
		s.badBody(c, err)
		return
	}
	t, err := s.svc.ReissueQR(c.Request.Context(), caller(c), c.Param("id"), req.Reason)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewIssued(t))
}

func (s *Server) eraseBiometrics(c *gin.Context) {
	t, err := s.svc.EraseBiometrics(c.Request.Context(), caller(c), c.Param("id"), c.Query("reason"))
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, viewIssued(t))
}

type auditView struct {
	At      string          `json:"at"`
	Actor   string          `json:"actor"`
	Action  string          `json:"action"`
	OrderID string          `json:"order_id,omitempty"`
	Detail  json.RawMessage `json:"detail,omitempty"`
}

func (s *Server) ticketAudit(c *gin.Context) {
	id := c.Param("id")
	entries, err := s.svc.TicketAudit(c.Request.Context(), caller(c), id, 200)
	if err != nil {
		s.fail(c, err)
		return
	}
	out := []auditView{}
	for _, e := range entries {
		v := auditView{At: e.At.UTC().Format("2006-01-02T15:04:05.000Z07:00"), Actor: e.Actor, Action: e.Action, OrderID: e.OrderID}
		if e.Detail != "" {
			v.Detail = json.RawMessage(e.Detail)
		}
		out = append(out, v)
	}
	c.JSON(http.StatusOK, gin.H{"ticket_id": id, "audit": out})
}

var errEmptyBody = errors.New("empty body; send a JSON object")

// decodeJSON decodes exactly one JSON value with no unknown fields; an
// empty body gives errEmptyBody.
func decodeJSON(r io.Reader, v any) error {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errEmptyBody
		}
		return err
	}
	if dec.More() {
		return errors.New("unexpected data after the JSON object")
	}
	return nil
}

// badBody answers an undecodable body: 413 when it was over the limit, 400
// otherwise, saying what was wrong.
func (s *Server) badBody(c *gin.Context, err error) {
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		abort(c, http.StatusRequestEntityTooLarge, "payload_too_large",
			fmt.Sprintf("the request body exceeds the limit of %d bytes", tooBig.Limit))
		return
	}
	abort(c, http.StatusBadRequest, service.CodeInvalidRequest, "malformed request: "+err.Error())
}

func isMultipart(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "multipart/form-data"
}

func (s *Server) multipartForm(c *gin.Context) (*multipart.Form, error) {
	// The body is already capped by limitBody; keep it all in memory rather
	// than in temporary files, since photos must never touch the disk.
	if err := c.Request.ParseMultipartForm(s.maxBody + 1); err != nil {
		return nil, err
	}
	return c.Request.MultipartForm, nil
}

func (s *Server) decodeMultipartOrder(c *gin.Context, req *service.OrderRequest) error {
	form, err := s.multipartForm(c)
	if err != nil {
		return err
	}
	parts := form.Value["order"]
	if len(parts) != 1 {
		return errors.New(`multipart requests need exactly one field "order" with the order's JSON`)
	}
	if err := decodeJSON(strings.NewReader(parts[0]), req); err != nil {
		return fmt.Errorf("field order: %w", err)
	}
	for field, files := range form.File {
		idx, ok := strings.CutPrefix(field, "photos.")
		i, err := strconv.Atoi(idx)
		if !ok || err != nil || i < 0 || i >= len(req.Visitors) {
			return fmt.Errorf("file field %q: want photos.<visitor index> for one of the %d visitors", field, len(req.Visitors))
		}
		photos, err := readFiles(files)
		if err != nil {
			return err
		}
		req.Visitors[i].Photos = append(req.Visitors[i].Photos, photos...)
	}
	return nil
}

func (s *Server) decodeMultipartFaces(c *gin.Context, req *facesRequest) error {
	form, err := s.multipartForm(c)
	if err != nil {
		return err
	}
	for name, dst := range map[string]*bool{"replace": &req.Replace, "consent": &req.Consent} {
		if v := form.Value[name]; len(v) > 0 {
			b, err := strconv.ParseBool(v[0])
			if err != nil {
				return fmt.Errorf("field %s: want true or false", name)
			}
			*dst = b
		}
	}
	photos, err := readFiles(form.File["photos"])
	if err != nil {
		return err
	}
	req.Photos = photos
	return nil
}

func readFiles(files []*multipart.FileHeader) ([][]byte, error) {
	var out [][]byte
	for _, fh := range files {
		f, err := fh.Open()
		if err != nil {
			return nil, err
		}
		b, err := io.ReadAll(f)
		f.Close()
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}
