// Package lag evaluates consumer lag the way LinkedIn's Burrow does and
// turns the result into operational advice.
//
// The broker samples, on an interval, every (group, topic, queue) with a
// committed offset: the broker's max and min offset, the committed offset
// and the store time of the oldest unconsumed message. The Evaluator keeps
// the last Window samples of each queue and, when asked, judges each queue
// with Burrow's partition rules, in order:
//
//  1. the lag was zero in some sample, or is zero now: OK;
//  2. the committed offset went down between two samples: REWIND;
//  3. no commit for longer than the commits in the window span
//     (now - last commit > last commit - first commit), or none at all
//     while the window filled: STOP;
//  4. commits arrive but the offset never moves while there is lag: STALL;
//  5. the offset moves but the lag never decreases: WARN (slow consumer);
//  6. otherwise OK.
//
// A group takes its worst queue's status, with STOP, STALL and REWIND
// folded to ERR. On top of the statuses it derives findings, each with a
// rule id, a severity, a one-line reason and a suggestion: time to drain
// (lag / (consume rate - produce rate)), messages that will expire before
// they are consumed (fileReservedTime), a consumer that fell behind
// retention, and hot or skewed queues.
//
// A reset the broker performed itself (NoteReset) restarts the queue's
// window, so the offset going back is not reported as REWIND.
//
// Everything here is pure computation over samples with an injected
// clock; the broker does the sampling (internal/broker/lag.go).
package lag
