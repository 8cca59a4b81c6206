package domain

import (
	"bytes"
	"encoding/json"
	"net/url"
)

// Payload is exactly what one lead sends to Calltouch: the form fields of
// docs/calltouch.md, in that order. Optional fields are empty when absent.
type Payload struct {
	PhoneNumber   string
	RequestNumber string
	Comment       string
	SessionID     string
	Subject       string
	RequestDate   string
}

// fields lists the payload's present fields in the order Calltouch gets them.
func (p Payload) fields() [][2]string {
	out := [][2]string{
		{"phoneNumber", p.PhoneNumber},
		{"requestNumber", p.RequestNumber},
		{"comment", p.Comment},
	}
	for _, f := range [][2]string{{"sessionId", p.SessionID}, {"subject", p.Subject}, {"requestDate", p.RequestDate}} {
		if f[1] != "" {
			out = append(out, f)
		}
	}
	return out
}

// Form is the request body: UTF-8, form-encoded, fields in docs/calltouch.md order.
func (p Payload) Form() string {
	var b bytes.Buffer
	for i, f := range p.fields() {
		if i > 0 {
			b.WriteByte('&')
		}
		b.WriteString(url.QueryEscape(f[0]))
		b.WriteByte('=')
		b.WriteString(url.QueryEscape(f[1]))
	}
	return b.String()
}

// MarshalJSON writes the payload as an object whose keys keep the wire order.
func (p Payload) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range p.fields() {
		if i > 0 {
			b.WriteByte(',')
		}
		k, _ := json.Marshal(f[0])
		v, err := json.Marshal(f[1])
		if err != nil {
			return nil, err
		}
		b.Write(k)
		b.WriteByte(':')
		b.Write(v)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (p *Payload) UnmarshalJSON(data []byte) error {
	var m map[string]string
	if err := json.Unmarshal(data, &m); err != nil {
		return err
	}
	*p = Payload{
		PhoneNumber:   m["phoneNumber"],
		RequestNumber: m["requestNumber"],
		Comment:       m["comment"],
		SessionID:     m["sessionId"],
		Subject:       m["subject"],
		RequestDate:   m["requestDate"],
	}
	return nil
}
