//go:build !linux

package vfs

import "os"

// preallocate is a no-op where there is no fallocate with a keep-size
// mode: preallocation is an optimisation, never needed for correctness.
func preallocate(*os.File, int64) error { return nil }
