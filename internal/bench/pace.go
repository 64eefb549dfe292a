package bench

import "time"

// slotTime is when send seq of a run paced at rate per second is due:
// start + seq/rate, computed without accumulating rounding.
func slotTime(start time.Time, seq int64, rate float64) time.Time {
	return start.Add(time.Duration(float64(seq) / rate * float64(time.Second)))
}

// waitSlot blocks until send seq of a paced run is due and reports
// whether it may go ahead (false: stop was closed first). A slot already
// past returns at once, so a run that fell behind catches up instead of
// lowering the offered load.
func waitSlot(now func() time.Time, start time.Time, seq int64, rate float64, stop <-chan struct{}) bool {
	d := slotTime(start, seq, rate).Sub(now())
	if d <= 0 {
		select {
		case <-stop:
			return false
		default:
			return true
		}
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-stop:
		return false
	case <-t.C:
		return true
	}
}
