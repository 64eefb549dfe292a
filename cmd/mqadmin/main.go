// Command mqadmin is Bolide's admin CLI under its RocketMQ name: the same
// commands as `bolide admin` (see internal/admin).
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/bolidemq/bolide/internal/admin"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := admin.Run(ctx, os.Args[1:], admin.IO{})
	stop()
	os.Exit(code)
}
