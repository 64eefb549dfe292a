package main

import (
	"io"
	"os"

	"github.com/spf13/cobra"

	"github.com/bolidemq/bolide/internal/admin"
)

// newAdminCmd mounts the admin CLI: `bolide admin <command> [flags]` is
// `mqadmin <command> [flags]`, exit code included.
func newAdminCmd(stdout, stderr io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:                "admin <command> [flags]",
		Short:              "Run an mqadmin command (topicStatus, consumerProgress, resetOffsetByTime, ...)",
		DisableFlagParsing: true, // the admin tree parses its own (Java-style) flags
		RunE: func(cmd *cobra.Command, args []string) error {
			if code := admin.Run(cmd.Context(), args, admin.IO{Stdout: stdout, Stderr: stderr}); code != admin.ExitOK {
				os.Exit(code)
			}
			return nil
		},
	}
}
