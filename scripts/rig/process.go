package rig

import (
	"bufio"
	"bytes"
	"fmt"
	"os/exec"
	"regexp"
	"sync"
	"syscall"
	"time"
)

// Proc is a child process that announced on stderr that it is ready.
type Proc struct {
	// URL is the first group of the ready pattern: what to talk to.
	URL string

	cmd  *exec.Cmd
	done chan struct{}
	err  error

	mu  sync.Mutex
	log bytes.Buffer // stderr so far
}

// Start runs bin with args and waits until a stderr line matches ready,
// whose first group becomes URL. It fails if the process exits first or
// stays silent for 20 s, with what it printed.
func Start(bin string, ready *regexp.Regexp, args ...string) (*Proc, error) {
	return StartCmd(exec.Command(bin, args...), ready)
}

// StartCmd is Start for a command already set up (working directory,
// environment).
func StartCmd(cmd *exec.Cmd, ready *regexp.Regexp) (*Proc, error) {
	pipe, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	p := &Proc{cmd: cmd, done: make(chan struct{})}
	urls := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(pipe)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			p.mu.Lock()
			p.log.WriteString(sc.Text() + "\n")
			p.mu.Unlock()
			if m := ready.FindStringSubmatch(sc.Text()); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
		p.err = cmd.Wait()
		close(p.done)
	}()
	select {
	case p.URL = <-urls:
		return p, nil
	case <-p.done:
		return nil, fmt.Errorf("%s exited before ready (%v):\n%s", cmd, p.err, p.Stderr())
	case <-time.After(20 * time.Second):
		p.Kill()
		return nil, fmt.Errorf("%s not ready after 20s:\n%s", cmd, p.Stderr())
	}
}

// Stderr is what the process printed on stderr so far.
func (p *Proc) Stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.log.String()
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Proc) Kill() {
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// Stop sends SIGTERM and waits up to 10 s; it returns the exit error of a
// process that did not stop cleanly. A Go process still running then gets
// SIGQUIT, so its stderr ends with the stack of every goroutine, which
// shows where the shutdown hung; after 5 s more it is killed.
func (p *Proc) Stop() error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(10 * time.Second):
	}
	_ = p.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.Kill()
	}
	return fmt.Errorf("did not stop within 10 s of SIGTERM")
}

// Pid is the process ID, for tools that attach to it (strace).
func (p *Proc) Pid() int { return p.cmd.Process.Pid }

// Done is closed when the process has exited.
func (p *Proc) Done() <-chan struct{} { return p.done }
