//go:build linux

package vfs

import (
	"errors"
	"os"
	"syscall"
)

// fallocKeepSize is FALLOC_FL_KEEP_SIZE (linux/falloc.h): allocate blocks
// without changing the apparent size, so readers that derive the end of
// data from the file size are not misled by the reservation.
const fallocKeepSize = 0x1

// preallocate reserves blocks for the first size bytes of f. Filesystems
// that cannot (EOPNOTSUPP, e.g. some network filesystems) or kernels
// without fallocate (ENOSYS) are not an error: preallocation only avoids
// fragmentation and late ENOSPC, it is never needed for correctness.
func preallocate(f *os.File, size int64) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return &os.PathError{Op: "fallocate", Path: f.Name(), Err: err}
	}
	var errno error
	err = rc.Control(func(fd uintptr) {
		for {
			errno = syscall.Fallocate(int(fd), fallocKeepSize, 0, size)
			if !errors.Is(errno, syscall.EINTR) {
				return
			}
		}
	})
	if err != nil {
		return &os.PathError{Op: "fallocate", Path: f.Name(), Err: err}
	}
	if errors.Is(errno, syscall.EOPNOTSUPP) || errors.Is(errno, syscall.ENOSYS) {
		return nil
	}
	if errno != nil {
		return &os.PathError{Op: "fallocate", Path: f.Name(), Err: errno}
	}
	return nil
}
