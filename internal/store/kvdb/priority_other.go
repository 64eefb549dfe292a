//go:build !linux

package kvdb

// lowerThreadPriority does nothing outside Linux, where a thread's nice
// value is not its own.
func lowerThreadPriority(int) (nice int, restore func()) { return 0, func() {} }

func threadNice() (int, error) { return 0, nil }
