// Command kioskd is the self-service terminal daemon and its companion tools
// (central simulator, virtual card, virtual printer). main is wiring only:
// each subcommand lives in its own file and registers itself here.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"
)

// command is one subcommand of kioskd.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string) error
}

var commands = map[string]command{}

func register(c command) { commands[c.name] = c }

// usageError is returned by a subcommand whose arguments are wrong; main
// prints it and exits with status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// parseFlags parses a subcommand's args into fs. -h or --help prints the
// flags to stderr and returns help = true (the command then does nothing);
// a wrong flag prints them too and is a usageError.
func parseFlags(fs *flag.FlagSet, args []string, stderr io.Writer) (help bool, err error) {
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: kioskd %s [flags]\n", fs.Name())
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, usageError{fs.Name() + ": " + err.Error()}
	}
	return false, nil
}

// usage lists the commands, sorted, with their summaries.
func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: kioskd <command> [flags]")
	fmt.Fprintln(w, "commands:")
	for _, n := range commandNames() {
		fmt.Fprintf(w, "  %-14s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "kioskd <command> --help lists a command's flags.")
}

// commandNames are the registered commands, sorted.
func commandNames() []string {
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// aliases are the spellings people try first.
var aliases = map[string]string{"-h": "help", "-help": "help", "--help": "help", "-version": "version", "--version": "version"}

func init() {
	register(command{name: "help", summary: "print this list of commands", run: func(context.Context, []string) error {
		usage(os.Stdout)
		return nil
	}})
}

func main() {
	os.Exit(realMain(os.Args[1:], os.Stderr))
}

// realMain runs the command args name and returns the exit status: 0, 1
// when the command failed, 2 for a usage error (no or an unknown command,
// wrong flags).
func realMain(args []string, stderr io.Writer) int {
	if len(args) < 1 {
		usage(stderr)
		return 2
	}
	name := args[0]
	if a, ok := aliases[name]; ok {
		name = a
	}
	c, ok := commands[name]
	if !ok {
		fmt.Fprintf(stderr, "kioskd: unknown command %q\n", args[0])
		usage(stderr)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := c.run(ctx, args[1:])
	stop()
	if err != nil {
		fmt.Fprintf(stderr, "kioskd %s: %v\n", c.name, err)
		if _, ok := err.(usageError); ok {
			return 2
		}
		return 1
	}
	return 0
}
