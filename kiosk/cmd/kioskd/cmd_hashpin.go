package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"golang.org/x/sys/unix"

	"github.com/kioskd/kioskd/kiosk/maint"
)

func init() {
	register(command{
		name:    "hash-pin",
		summary: "read a technician PIN from stdin (no echo on a terminal) and print its argon2id hash for maintenance.technicians",
		run: func(_ context.Context, args []string) error {
			if len(args) != 0 {
				return usageError{"usage: kioskd hash-pin  (the PIN is read from stdin)"}
			}
			return hashPIN(os.Stdin, os.Stdout, os.Stderr)
		},
	})
}

// hashPIN reads one line from in (twice, without echo, when in is a
// terminal) and writes its hash to out. The PIN is never printed.
func hashPIN(in *os.File, out, prompt io.Writer) error {
	tty := isTerminal(in)
	r := bufio.NewReader(in)
	read := func(p string) (string, error) {
		if tty {
			restore, err := noEcho(in)
			if err != nil {
				return "", err
			}
			defer func() {
				restore()
				fmt.Fprintln(prompt)
			}()
			fmt.Fprint(prompt, p) // after echo is off: typing may start now
		}
		line, err := r.ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", fmt.Errorf("read PIN from stdin: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	pin, err := read("technician PIN: ")
	if err != nil {
		return err
	}
	if err := maint.CheckPIN(pin); err != nil {
		return usageError{err.Error()}
	}
	if tty {
		again, err := read("again: ")
		if err != nil {
			return err
		}
		if again != pin {
			return usageError{"the two PINs differ"}
		}
	}
	h, err := maint.Hash(pin)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(out, h)
	return err
}

func isTerminal(f *os.File) bool {
	_, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	return err == nil
}

// noEcho turns the terminal's echo off and returns what turns it back on.
func noEcho(f *os.File) (restore func(), err error) {
	fd := int(f.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return nil, fmt.Errorf("terminal: %w", err)
	}
	t := *old
	t.Lflag &^= unix.ECHO
	t.Lflag |= unix.ICANON | unix.ECHONL
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &t); err != nil {
		return nil, fmt.Errorf("terminal: %w", err)
	}
	return func() { unix.IoctlSetTermios(fd, unix.TCSETS, old) }, nil
}
