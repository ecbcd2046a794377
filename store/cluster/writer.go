package cluster

import "github.com/hookgate/hookgate/store"

// Writer is the store.Writer of a clustered store (store.SetWriter): each
// store operation is encoded (the state machine's EncodeEntry when it
// has one, e.g. the store sealing entries with its encryption key; else
// store.EncodeOp) and proposed to the Raft log through n (forwarded to
// the leader from a follower), and its result is returned once this
// node's state machine applied it.
func Writer(n *Node) store.Writer {
	w := writer{n: n, encode: store.EncodeOp}
	if e, ok := n.o.State.(entryEncoder); ok {
		w.encode = e.EncodeEntry
	}
	return w
}

// entryEncoder is a state machine that encodes its own log entries.
type entryEncoder interface {
	EncodeEntry(op store.Op) ([]byte, error)
}

type writer struct {
	n      *Node
	encode func(store.Op) ([]byte, error)
}

func (w writer) Apply(op store.Op) (any, error) {
	data, err := w.encode(op)
	if err != nil {
		return nil, err
	}
	return w.n.Apply(data)
}
