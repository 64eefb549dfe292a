package lag

import (
	"encoding/json"
	"fmt"
)

// Advice is the reply body of BOLIDE_GET_LAG_ADVICE (a Bolide extension,
// plain JSON: no Java peer reads it).
type Advice struct {
	BrokerName string `json:"brokerName"`
	// EvaluatedAt is the broker's time (ms) of the evaluation.
	EvaluatedAt int64 `json:"evaluatedAt"`
	// IntervalMillis is the sampling interval; Window the samples per queue.
	IntervalMillis int64 `json:"intervalMillis"`
	Window         int   `json:"window"`
	// FileReservedHours is the broker's fileReservedTime.
	FileReservedHours float64 `json:"fileReservedHours"`
	// Tracked queues; SkippedLMQ LMQ rows left out by the cap.
	Tracked    int `json:"tracked"`
	SkippedLMQ int `json:"skippedLmq"`
	// LastPassMillis is how long the last sampling pass took.
	LastPassMillis int64    `json:"lastPassMillis"`
	Groups         []Report `json:"groups"`
}

// Encode returns the JSON text.
func (a *Advice) Encode() []byte {
	b, err := json.Marshal(a)
	if err != nil { // strings, numbers and finite floats only
		panic(fmt.Sprintf("lag: encoding Advice: %v", err))
	}
	return b
}

// Decode replaces a with the advice in data.
func (a *Advice) Decode(data []byte) error {
	*a = Advice{}
	if err := json.Unmarshal(data, a); err != nil {
		return fmt.Errorf("lag: decoding Advice: %w", err)
	}
	return nil
}

// Headline is the report's most important finding: the first one (they
// are sorted worst first), or a summary of the status when there is none.
func (r *Report) Headline() Finding {
	for _, f := range r.Findings {
		if f.Severity.Rank() > 0 || f.Rule != "incomplete" {
			return f
		}
	}
	if len(r.Findings) > 0 {
		return r.Findings[0]
	}
	reason := fmt.Sprintf("lag %d", r.TotalLag)
	if r.TotalLag == 0 {
		reason = "caught up"
	} else if r.ETASeconds != nil && *r.ETASeconds > 0 {
		reason += ", drains in " + Duration(*r.ETASeconds)
	} else if r.TotalLag > 0 && r.ETASeconds == nil {
		reason += fmt.Sprintf(", not draining (backlog grows by %s/s)", rate(r.ProduceRate-r.ConsumeRate))
	}
	return Finding{Rule: "ok", Severity: SeverityOK, Status: r.Status, Reason: reason}
}
