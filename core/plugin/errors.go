package plugin

import "strconv"

// Error ends a request with an HTTP status. Message is shown to the client
// and must not contain secrets or internal details; Err, if set, is the
// cause, logged but never shown.
type Error struct {
	Status  int
	Message string
	Err     error
}

// Error implements error.
func (e *Error) Error() string {
	s := strconv.Itoa(e.Status) + " " + e.Message
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

// Unwrap returns the cause.
func (e *Error) Unwrap() error { return e.Err }

// NewError returns an error answering status with message.
func NewError(status int, message string) *Error {
	return &Error{Status: status, Message: message}
}
