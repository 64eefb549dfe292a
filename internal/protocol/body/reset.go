package body

import (
	"encoding/json"
	"fmt"
)

// Outcomes of one queue in a ResetOffsetResult.
const (
	ResetApplied   = "applied"   // the committed offset was set to New
	ResetUnchanged = "unchanged" // the committed offset already was New
	ResetSkipped   = "skipped"   // nothing was written; Reason says why
	ResetPlanned   = "planned"   // dry run: would be applied
)

// ResetQueue is one queue of a reset: the committed offset before (-1 when
// the group had none) and the target.
type ResetQueue struct {
	Topic      string `json:"topic"`
	BrokerName string `json:"brokerName"`
	QueueID    int32  `json:"queueId"`
	Old        int64  `json:"old"`
	New        int64  `json:"new"`
	Status     string `json:"status"`
	Reason     string `json:"reason,omitempty"`
}

// ResetOffsetResult is the reply body of BOLIDE_RESET_OFFSET (a Bolide
// extension, plain JSON: no Java peer reads it).
type ResetOffsetResult struct {
	OpID   string       `json:"opId"`
	Group  string       `json:"group"`
	Topic  string       `json:"topic"`
	DryRun bool         `json:"dryRun"`
	Undo   string       `json:"undo,omitempty"` // the operation this one undid
	Queues []ResetQueue `json:"queues"`
}

// Encode returns the JSON text.
func (r *ResetOffsetResult) Encode() []byte {
	b, err := json.Marshal(r)
	if err != nil { // only strings and numbers: cannot happen
		panic(fmt.Sprintf("body: encoding ResetOffsetResult: %v", err))
	}
	return b
}

// Decode replaces r with the result in data.
func (r *ResetOffsetResult) Decode(data []byte) error {
	*r = ResetOffsetResult{}
	if err := json.Unmarshal(data, r); err != nil {
		return fmt.Errorf("%w: ResetOffsetResult: %w", ErrInvalid, err)
	}
	return nil
}
