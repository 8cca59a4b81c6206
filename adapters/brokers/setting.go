package brokers

import "fmt"

// SettingError is a broker setting with a value it cannot take; Setting
// is the field of the broker's Config.
type SettingError struct {
	Setting string
	Err     error
}

func (e *SettingError) Error() string { return fmt.Sprintf("%s: %v", e.Setting, e.Err) }

func (e *SettingError) Unwrap() error { return e.Err }
