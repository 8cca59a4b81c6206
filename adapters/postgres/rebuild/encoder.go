package rebuild

// orderEncoder writes the rows of orders that left memory on a goroutine of
// its own. The fold's one goroutine bounds the bulk phase, and an order
// that left memory changes no more: its rows need not hold the fold up.
// The encoder alone fills the orders and decisions targets; the fold's
// goroutine fills the others.
type orderEncoder struct {
	m    *bulkModel
	in   chan encoderWork
	done chan struct{}
}

// encoderWork is orders to write or, when synced is set, a request to
// hand the encoder's pending rows to the writers, answered on synced with
// the channels sendPending returns.
type encoderWork struct {
	orders []*cachedOrder
	synced chan []chan struct{}
}

// encoderTargets are the targets only the encoder fills, foldTargets
// the others.
var (
	encoderTargets = []int{targetOrders, targetDecisions}
	foldTargets    = []int{targetPolicies, targetEvents, targetTries}
)

func startOrderEncoder(m *bulkModel) *orderEncoder {
	e := &orderEncoder{m: m, in: make(chan encoderWork, 1), done: make(chan struct{})}
	go e.run()
	return e
}

func (e *orderEncoder) run() {
	defer close(e.done)
	w := e.m.w
	for {
		var (
			work encoderWork
			more bool
		)
		select {
		case work, more = <-e.in:
			if !more {
				return
			}
		case <-w.ctx.Done():
			return
		}
		for _, o := range work.orders {
			if err := e.m.writeOrder(o); err != nil {
				w.cancel(err)
				return
			}
		}
		if work.synced != nil {
			done, err := w.sendPending(encoderTargets...)
			if err != nil {
				return
			}
			work.synced <- done
		}
	}
}

// write queues orders to be written.
func (e *orderEncoder) write(orders []*cachedOrder) error {
	select {
	case e.in <- encoderWork{orders: orders}:
		return nil
	case <-e.m.w.ctx.Done():
		return e.m.w.err()
	}
}

// sendPending hands the encoder's pending rows, after every order queued
// before, to the writers (bulkWriter.sendPending).
func (e *orderEncoder) sendPending() ([]chan struct{}, error) {
	w := e.m.w
	synced := make(chan []chan struct{}, 1)
	select {
	case e.in <- encoderWork{synced: synced}:
	case <-w.ctx.Done():
		return nil, w.err()
	}
	select {
	case done := <-synced:
		return done, nil
	case <-w.ctx.Done():
		return nil, w.err()
	}
}

// stop ends the encoder once it has written what it was given.
func (e *orderEncoder) stop() {
	close(e.in)
	<-e.done
}
