package wire

import (
	"fmt"

	"ctjournal/domain"
)

func fieldErr(field, format string, args ...any) *domain.FieldError {
	return &domain.FieldError{Field: field, Message: fmt.Sprintf(format, args...)}
}
