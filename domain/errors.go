package domain

import "fmt"

// FieldError is bad input: which field, and which rule it broke.
type FieldError struct {
	Field   string // path such as "data.attempt"; empty for the input as a whole
	Message string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return fmt.Sprintf("%s: %s", e.Field, e.Message)
}

func fieldErr(field, format string, args ...any) *FieldError {
	return &FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}
