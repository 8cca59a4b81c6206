package pgrows

import (
	"bytes"
	"encoding/json"
)

// orderIDKey is how the order id appears in a call event as PostgreSQL
// prints JSONB: after "data", whose details may hold a key of that name.
var orderIDKey = []byte(`"order_id": "`)

// orderIDOf finds a record's order id cheaply, for reading orders ahead
// (the projection's read-ahead, the rebuild's read-back): the last
// "order_id" member of the record, where jsonb prints the top-level one
// (after "data", whose details may hold a member of that name). A wrong
// guess costs only a read that finds nothing or one made later; records
// printed otherwise are decoded.
func OrderIDOf(payload []byte) string {
	if i := bytes.LastIndex(payload, orderIDKey); i >= 0 {
		rest := payload[i+len(orderIDKey):]
		if j := bytes.IndexByte(rest, '"'); j >= 0 {
			return string(rest[:j])
		}
	}
	var head struct {
		OrderID string `json:"order_id"`
	}
	if bytes.Contains(payload, []byte(`"order_id"`)) && json.Unmarshal(payload, &head) == nil {
		return head.OrderID
	}
	return ""
}
