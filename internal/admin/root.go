package admin

import (
	"context"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bolidemq/bolide/internal/admin/render"
)

// env is the state of one Run: its IO, the global flags and the Admin
// built from them on first use.
type env struct {
	io      IO
	namesrv string
	json    bool
	creds   credFlags // see credentials.go
	admin   *Admin
}

// result is what a command produced: printed as Java's text or, with
// --json, as one JSON document of the value itself.
type result interface {
	writeText(w io.Writer, loc *time.Location)
}

func newRoot(e *env) *cobra.Command {
	root := &cobra.Command{
		Use:   "mqadmin",
		Short: "Administer a Bolide (or Apache RocketMQ) cluster",
		Long: "mqadmin runs Apache RocketMQ's admin commands, with the same names, flags and output,\n" +
			"against the cluster behind the name servers given by -n (or $NAMESRV_ADDR).\n" +
			"Every command takes --json to print one JSON document instead of the table.\n" +
			"Exit codes: 0 success, 1 failure, 2 bad usage, 3 not found.",
		SilenceErrors: true,
		SilenceUsage:  true,
		// Java mqadmin lists its commands when called without one.
		Run: func(cmd *cobra.Command, args []string) {
			if len(args) > 0 {
				return
			}
			_ = cmd.Help()
		},
		Args: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 {
				return fmt.Errorf("unknown command %q", args[0])
			}
			return nil
		},
	}
	root.CompletionOptions.DisableDefaultCmd = true
	pf := root.PersistentFlags()
	pf.StringVarP(&e.namesrv, "namesrvAddr", "n", "", `name servers, "host:port;host:port" (default $NAMESRV_ADDR)`)
	pf.BoolVar(&e.json, "json", false, "print one JSON document instead of the table")
	e.creds.register(pf)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error { return err })
	root.AddCommand(
		newTopicStatusCmd(e),
		newConsumerProgressCmd(e),
		newResetOffsetByTimeCmd(e),
		newQueryMsgByKeyCmd(e),
		newQueryMsgByUniqueKeyCmd(e),
		newQueryMsgByIDCmd(e),
		newUpdateTopicCmd(e),
		newDeleteTopicCmd(e),
		newTopicListCmd(e),
		newTopicRouteCmd(e),
		newClusterListCmd(e),
		newBrokerStatusCmd(e),
		newConsumerConnectionCmd(e),
		newUpdateSubGroupCmd(e),
		newDeleteSubGroupCmd(e),
		newSendMessageCmd(e),
		newLMQListCmd(e),
		newLagAdviceCmd(e),
	)
	return root
}

// getAdmin builds the Admin on first use from -n or $NAMESRV_ADDR and
// the credential flags.
func (e *env) getAdmin() (*Admin, error) {
	if e.admin == nil {
		ns := e.namesrv
		if ns == "" {
			ns = e.io.Getenv("NAMESRV_ADDR")
		}
		creds, err := e.creds.credentials()
		if err != nil {
			return nil, err
		}
		e.admin = New(Config{
			NamesrvAddrs: splitAddrs(ns),
			Now:          e.io.Now,
			Location:     e.io.Location,
			Credentials:  creds,
		})
	}
	return e.admin, nil
}

// splitAddrs splits a ";"-separated address list, dropping blanks.
func splitAddrs(s string) []string {
	var out []string
	for _, a := range strings.Split(s, ";") {
		if a = strings.TrimSpace(a); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// command builds a subcommand whose work is run: flags are registered by
// flags, and run's result is printed as text or JSON. A result returned
// together with an error (a partial failure) is printed too.
func (e *env) command(use, short string, flags func(fs *pflag.FlagSet), run func(ctx context.Context, cmd *cobra.Command, a *Admin) (result, error)) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.NoArgs,
	}
	if flags != nil {
		flags(cmd.Flags())
	}
	cmd.RunE = func(cmd *cobra.Command, _ []string) error {
		a, err := e.getAdmin()
		if err != nil {
			return &commandError{command: cmd.Name(), err: err}
		}
		res, err := run(cmd.Context(), cmd, a)
		if res != nil {
			if e.json {
				if jerr := render.JSON(e.io.Stdout, res); jerr != nil && err == nil {
					err = jerr
				}
			} else {
				res.writeText(e.io.Stdout, e.io.Location)
			}
		}
		if err != nil {
			return &commandError{command: cmd.Name(), err: err}
		}
		return nil
	}
	return cmd
}

// require fails with a usage error naming the first missing flag.
func require(cmd *cobra.Command, names ...string) error {
	for _, n := range names {
		if !cmd.Flags().Changed(n) {
			f := cmd.Flags().Lookup(n)
			if f != nil && f.Shorthand != "" {
				return usagef("missing required option -%s/--%s", f.Shorthand, n)
			}
			return usagef("missing required option --%s", n)
		}
	}
	return nil
}

// str returns a string flag's value, trimmed as Java's commands do.
func str(cmd *cobra.Command, name string) string {
	v, _ := cmd.Flags().GetString(name)
	return strings.TrimSpace(v)
}

// javaBool parses a flag value like Boolean.parseBoolean: "true" in any
// case is true, anything else false.
func javaBool(s string) bool { return strings.EqualFold(strings.TrimSpace(s), "true") }

// intFlag parses a numeric string flag, as Integer.parseInt would.
func intFlag(cmd *cobra.Command, name string, def int64) (int64, error) {
	if !cmd.Flags().Changed(name) {
		return def, nil
	}
	s := str(cmd, name)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, usagef("option --%s: %q is not a number", name, s)
	}
	return n, nil
}

// asResult converts a command's typed result to a result, keeping a nil
// pointer nil (a typed nil in an interface would be printed).
func asResult[T any, P interface {
	*T
	result
}](r P, err error) (result, error) {
	if r == nil {
		return nil, err
	}
	return r, err
}
