package app

import "fmt"

// JudgeAppend sorts the events of one append into new ones and duplicates,
// given what the log already holds: stored, the canonical content of known
// event ids, and widgetOf, the widget each known order is tied to. It
// refuses the whole append on the first conflict (*ConflictError) and
// changes neither map; newOrders are the accepted events that tie an
// order first.
func JudgeAppend(events []NewEvent, stored map[string][]byte, widgetOf map[string]string) (accepted, newOrders []NewEvent, err error) {
	newWidgetOf := map[string]string{} // orders this append ties
	seen := map[string][]byte{}        // events earlier in this append
	for _, e := range events {
		id, order := e.Event.EventID, e.Event.OrderID
		prev, ok := stored[id]
		if !ok {
			prev, ok = seen[id]
		}
		if ok {
			if string(prev) != string(e.Canonical) {
				return nil, nil, &ConflictError{Index: e.Index, Message: fmt.Sprintf("event_id %s is already stored with other content", id)}
			}
			continue
		}
		w, ok := widgetOf[order]
		if !ok {
			w, ok = newWidgetOf[order]
		}
		if ok && w != e.Event.WidgetID {
			return nil, nil, &ConflictError{Index: e.Index, Message: fmt.Sprintf("order %s belongs to widget %s, not %s", order, w, e.Event.WidgetID)}
		} else if !ok {
			newWidgetOf[order] = e.Event.WidgetID
			newOrders = append(newOrders, e)
		}
		seen[id] = e.Canonical
		accepted = append(accepted, e)
	}
	return accepted, newOrders, nil
}
