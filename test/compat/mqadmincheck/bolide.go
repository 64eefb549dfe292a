package mqadmincheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"

	"github.com/bolidemq/bolide/internal/admin"
)

// RunBolide runs Bolide's mqadmin in process (admin.Run, the code behind
// cmd/mqadmin and `bolide admin`).
func RunBolide(ctx context.Context, args []string) Result {
	var out, errOut bytes.Buffer
	start := time.Now()
	code := admin.Run(ctx, args, admin.IO{Stdout: &out, Stderr: &errOut})
	return bolideResult(args, code, out.String(), errOut.String(), start)
}

// RunBolideBinary runs a built Bolide mqadmin (for example
// `go build ./cmd/mqadmin`) as a process.
func RunBolideBinary(ctx context.Context, path string, args []string) Result {
	var out, errOut bytes.Buffer
	start := time.Now()
	cmd := exec.CommandContext(ctx, path, args...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	cmd.WaitDelay = 5 * time.Second
	code := 0
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			return Result{Args: args, Status: "exit -1", Error: fmt.Sprintf("mqadmincheck: run %s: %v", path, err)}
		}
		code = ee.ExitCode()
	}
	return bolideResult(args, code, out.String(), errOut.String(), start)
}

func bolideResult(args []string, code int, stdout, stderr string, start time.Time) Result {
	r := Result{
		Args:   args,
		Stdout: stdout,
		Stderr: stderr,
		Status: fmt.Sprintf("exit %d", code),
		Millis: time.Since(start).Milliseconds(),
	}
	if code != 0 {
		r.Error = strings.TrimSpace(stderr)
	}
	return r
}
