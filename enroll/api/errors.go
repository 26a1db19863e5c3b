package api

import (
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/scenicgate/scenicgate/enroll/service"
	"github.com/scenicgate/scenicgate/internal/sqlitedb"
)

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

func abort(c *gin.Context, status int, code, message string) {
	c.AbortWithStatusJSON(status, errorBody{errorDetail{Code: code, Message: message}})
}

// statusOf maps the service's error codes to HTTP statuses.
var statusOf = map[string]int{
	service.CodeInvalidRequest:     http.StatusBadRequest,
	service.CodeValidityOutOfRange: http.StatusBadRequest,
	service.CodeTooManyZones:       http.StatusBadRequest,
	service.CodeTooManyGates:       http.StatusBadRequest,
	service.CodeFieldTooLong:       http.StatusBadRequest,
	service.CodeForbidden:          http.StatusForbidden,
	service.CodeTicketEnded:        http.StatusConflict,
	service.CodeConsentRequired:    http.StatusUnprocessableEntity,
	service.CodeNoFace:             http.StatusUnprocessableEntity,
	service.CodeManyFaces:          http.StatusUnprocessableEntity,
	service.CodeFaceTooSmall:       http.StatusUnprocessableEntity,
	service.CodeFaceBlurred:        http.StatusUnprocessableEntity,
	service.CodeFaceNotFrontal:     http.StatusUnprocessableEntity,
	service.CodeDifferentPeople:    http.StatusUnprocessableEntity,
	service.CodeTooManyPhotos:      http.StatusUnprocessableEntity,
	service.CodeCorruptImage:       http.StatusUnprocessableEntity,
	service.CodeImageTooLarge:      http.StatusUnprocessableEntity,
	service.CodeUnsupportedImage:   http.StatusUnsupportedMediaType,
	service.CodeDuplicateFace:      http.StatusConflict,
	service.CodeOrderConflict:      http.StatusConflict,
	service.CodeTicketRevoked:      http.StatusConflict,
	service.CodeNotFound:           http.StatusNotFound,
}

// fail answers with the service error's code, or 500 for anything else
// (logged, with the cause kept from the client).
func (s *Server) fail(c *gin.Context, err error) {
	var se *service.Error
	if errors.As(err, &se) {
		status, ok := statusOf[se.Code]
		if !ok {
			status = http.StatusBadRequest
		}
		abort(c, status, se.Code, se.Message)
		return
	}
	if c.Request.Context().Err() != nil {
		abort(c, 499, "cancelled", "the request was cancelled")
		return
	}
	if sqlitedb.DiskFull(err) {
		// Nothing was stored; the caller can try again once there is room.
		s.log.Error("request failed: the disk is full", "method", c.Request.Method, "path", c.FullPath(), "err", err)
		c.Header("Retry-After", "60")
		abort(c, http.StatusServiceUnavailable, "storage_full", "enroll's disk is full and nothing was stored; try again later")
		return
	}
	s.log.Error("request failed", "method", c.Request.Method, "path", c.FullPath(), "err", err)
	abort(c, http.StatusInternalServerError, "internal", "internal error; see the enroll log")
}
