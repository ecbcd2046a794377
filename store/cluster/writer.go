package cluster

import "github.com/hookgate/hookgate/store"

// Writer is the store.Writer of a clustered store (store.SetWriter): each
// store operation is encoded (store.EncodeOp) and proposed to the Raft
// log through n (forwarded to the leader from a follower), and its result
// is returned once this node's state machine applied it.
func Writer(n *Node) store.Writer { return writer{n} }

type writer struct{ n *Node }

func (w writer) Apply(op store.Op) (any, error) {
	data, err := store.EncodeOp(op)
	if err != nil {
		return nil, err
	}
	return w.n.Apply(data)
}
