package lag

// Status is Burrow's evaluation of a queue or a group.
type Status string

// Statuses, as Burrow spells them. Queues are OK, WARN, STOP, STALL or
// REWIND; groups are OK, WARN or ERR (STOP, STALL and REWIND folded), or
// NOTFOUND when the evaluator tracks nothing of the group.
const (
	StatusNotFound Status = "NOTFOUND"
	StatusOK       Status = "OK"
	StatusWarn     Status = "WARN"
	StatusErr      Status = "ERR"
	StatusStop     Status = "STOP"
	StatusStall    Status = "STALL"
	StatusRewind   Status = "REWIND"
)

// Severity is what an operator should make of a status or a finding.
type Severity string

// Severities, from harmless to urgent.
const (
	SeverityOK   Severity = "OK"
	SeverityWarn Severity = "WARN"
	SeverityErr  Severity = "ERR"
)

// Severity maps a status to its severity: STOP, STALL, REWIND and ERR are
// errors.
func (s Status) Severity() Severity {
	switch s {
	case StatusWarn:
		return SeverityWarn
	case StatusErr, StatusStop, StatusStall, StatusRewind:
		return SeverityErr
	}
	return SeverityOK
}

// groupStatus folds a queue status into a group status.
func (s Status) groupStatus() Status {
	switch s.Severity() {
	case SeverityErr:
		return StatusErr
	case SeverityWarn:
		return StatusWarn
	}
	return StatusOK
}

// Rank orders statuses for "worst first": errors above warnings, and among
// queue errors REWIND (data may be consumed twice) above STOP above STALL.
func (s Status) Rank() int {
	switch s {
	case StatusRewind:
		return 6
	case StatusStop:
		return 5
	case StatusStall:
		return 4
	case StatusErr:
		return 3
	case StatusWarn:
		return 2
	case StatusOK:
		return 1
	}
	return 0
}

// Rank orders severities: ERR 2, WARN 1, OK 0.
func (s Severity) Rank() int {
	switch s {
	case SeverityErr:
		return 2
	case SeverityWarn:
		return 1
	}
	return 0
}

func worse(a, b Severity) Severity {
	if b.Rank() > a.Rank() {
		return b
	}
	return a
}
