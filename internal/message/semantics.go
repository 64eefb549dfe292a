package message

// Names used by delayed delivery, retries and transactions that Bolide
// adds to upstream's.
const (
	// TopicTimer parks messages delayed by TIMER_DELIVER_MS,
	// TIMER_DELAY_SEC or TIMER_DELAY_MS (upstream 5.x's timer topic);
	// delay-level messages park in TopicSchedule, queue level-1.
	TopicTimer = "rmq_sys_wheel_timer"

	// PropertyParked is set by the broker on a record that releases a
	// parked one (a delivered delayed message, a committed or rolled-back
	// transaction message): "t:<due ms>:<commit-log offset>" or
	// "h:<commit-log offset>" (package store/parked). The broker strips it
	// from everything clients send: it cancels the parked record it names.
	PropertyParked = "BOLIDE_PARKED"
)
