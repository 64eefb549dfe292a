package admin

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/bolidemq/bolide/internal/client"
	"github.com/bolidemq/bolide/internal/protocol"
)

// Exit codes of Run, shared by mqadmin and `bolide admin`.
const (
	ExitOK       = 0 // success
	ExitFailure  = 1 // an RPC or I/O error, or a partial failure
	ExitUsage    = 2 // bad flags or arguments
	ExitNotFound = 3 // the topic, group, message or LMQ exists nowhere asked
)

// IO is what a run reads from and writes to. Zero fields take the process
// defaults: os.Stdout, os.Stderr, os.Getenv, time.Now, time.Local.
type IO struct {
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	Now            func() time.Time
	// Location is where times are printed and where
	// "yyyy-MM-dd#HH:mm:ss:SSS" timestamps are read.
	Location *time.Location
}

func (o IO) withDefaults() IO {
	if o.Stdout == nil {
		o.Stdout = os.Stdout
	}
	if o.Stderr == nil {
		o.Stderr = os.Stderr
	}
	if o.Getenv == nil {
		o.Getenv = os.Getenv
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Location == nil {
		o.Location = time.Local
	}
	return o
}

// Run executes one admin command line (args without the program name, for
// example {"topicStatus", "-n", "127.0.0.1:9876", "-t", "T"}) and returns
// its exit code. Output goes to io.Stdout; every error is one line on
// io.Stderr.
func Run(ctx context.Context, args []string, o IO) int {
	o = o.withDefaults()
	e := &env{io: o}
	root := newRoot(e)
	root.SetArgs(args)
	root.SetOut(o.Stdout)
	root.SetErr(o.Stderr)
	err := root.ExecuteContext(ctx)
	if e.admin != nil {
		e.admin.Close()
	}
	if err == nil {
		return ExitOK
	}
	var ce *commandError
	if !errors.As(err, &ce) {
		// Cobra's own errors: unknown command or flag, bad flag value,
		// unexpected arguments.
		fmt.Fprintf(o.Stderr, "mqadmin: %v (see -h)\n", err)
		return ExitUsage
	}
	fmt.Fprintf(o.Stderr, "%s: %s\n", ce.command, describe(ce.err))
	return exitCode(ce.err)
}

// commandError is an error returned by a command's own code (as opposed to
// cobra's flag parsing), with the command's name for the message.
type commandError struct {
	command string
	err     error
}

func (e *commandError) Error() string { return e.command + ": " + e.err.Error() }
func (e *commandError) Unwrap() error { return e.err }

// usageError is a command line that cannot run: exit ExitUsage.
type usageError struct{ msg string }

func (e *usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

// NotFoundError says what does not exist anywhere the command asked: exit
// ExitNotFound.
type NotFoundError struct{ Msg string }

func (e *NotFoundError) Error() string { return e.Msg }

func notFoundf(format string, args ...any) error {
	return &NotFoundError{Msg: fmt.Sprintf(format, args...)}
}

// BrokerError is a failure of one broker (or name server) during a
// command.
type BrokerError struct {
	Broker string // broker name, or "" for a name server
	Addr   string
	Err    error
}

func (e *BrokerError) Error() string {
	switch {
	case e.Broker == "" && e.Addr == "":
		return describe(e.Err)
	case e.Broker == "":
		return fmt.Sprintf("%s: %s", e.Addr, describe(e.Err))
	case e.Addr == "":
		return fmt.Sprintf("broker %s: %s", e.Broker, describe(e.Err))
	}
	return fmt.Sprintf("broker %s (%s): %s", e.Broker, e.Addr, describe(e.Err))
}

func (e *BrokerError) Unwrap() error { return e.Err }

// PartialError reports brokers that failed while others answered; the
// command printed what it got and exits ExitFailure.
type PartialError struct{ Failures []*BrokerError }

func (e *PartialError) Error() string {
	parts := make([]string, len(e.Failures))
	for i, f := range e.Failures {
		parts[i] = f.Error()
	}
	return strings.Join(parts, "; ")
}

// exitCode classifies err.
func exitCode(err error) int {
	var ue *usageError
	var nf *NotFoundError
	switch {
	case errors.As(err, &ue), errors.Is(err, client.ErrNoNamesrv):
		return ExitUsage
	case errors.As(err, &nf):
		return ExitNotFound
	}
	return ExitFailure
}

// describe renders err as one line: response codes by name and remark,
// rate limiting called out as such. Broker and partial errors describe
// themselves.
func describe(err error) string {
	if errors.Is(err, client.ErrNoNamesrv) {
		return "no name server address: give -n host:port[;host:port] or set NAMESRV_ADDR"
	}
	var be *BrokerError
	var pe *PartialError
	if errors.As(err, &be) || errors.As(err, &pe) {
		return err.Error()
	}
	var re *client.ResponseError
	if errors.As(err, &re) {
		// Keep any context wrapped around the response error.
		if prefix, ok := strings.CutSuffix(err.Error(), re.Error()); ok {
			return prefix + describeResponse(re)
		}
		return describeResponse(re)
	}
	return err.Error()
}

func describeResponse(re *client.ResponseError) string {
	switch re.Code {
	case protocol.SystemBusy, protocol.FlowControl:
		// A Bolide broker names the limit and when to retry: print that
		// rather than a generic "try again later".
		if detail, ok := strings.CutPrefix(re.Remark, "rate limited: "); ok {
			return fmt.Sprintf("rate limited (%v): %s", re.Code, detail)
		}
		msg := fmt.Sprintf("rate limited (%v), try again later", re.Code)
		if re.Remark != "" {
			msg += ": " + re.Remark
		}
		return msg
	}
	if re.Remark == "" {
		return fmt.Sprintf("%v (%d)", re.Code, int32(re.Code))
	}
	return fmt.Sprintf("%v (%d): %s", re.Code, int32(re.Code), re.Remark)
}
