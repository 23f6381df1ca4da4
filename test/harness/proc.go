package harness

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Proc is a service binary running as a child process, with its log in the
// stack's directory.
type Proc struct {
	Name    string
	Args    []string
	Log     string
	Metrics string
	cmd     *exec.Cmd
	done    chan error
	env     []string
	bin     string
}

// Run runs a binary to completion and returns its combined output.
func (s *Stack) Run(ctx context.Context, bin string, args ...string) (string, error) {
	return s.RunEnv(ctx, nil, bin, args...)
}

// RunEnv is Run with extra environment variables.
func (s *Stack) RunEnv(ctx context.Context, extra []string, bin string, args ...string) (string, error) {
	cmd := s.Command(ctx, extra, bin, args...)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	err := cmd.Run()
	return out.String(), err
}

// Command prepares a one-shot run of a binary from BinDir with the
// services' environment plus extra, for callers that need its output
// streams apart or its process (to kill it mid-run).
func (s *Stack) Command(ctx context.Context, extra []string, bin string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, filepath.Join(s.Opts.BinDir, bin), args...)
	cmd.Env = append(s.Env(""), extra...)
	return cmd
}

// Spawn starts a long-running service (e.g. "admwriter", "serve") with
// metrics on a free loopback port.
func (s *Stack) Spawn(name, bin string, extraEnv []string, args ...string) (*Proc, error) {
	p := &Proc{Name: name, Args: args, bin: filepath.Join(s.Opts.BinDir, bin), Log: filepath.Join(s.Dir, name+".log")}
	p.Metrics = freeAddr()
	p.env = append(s.Env(p.Metrics), extraEnv...)
	if err := p.start(); err != nil {
		return nil, err
	}
	s.procs = append(s.procs, p)
	return p, nil
}

func (p *Proc) start() error {
	f, err := os.OpenFile(p.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	p.cmd = exec.Command(p.bin, p.Args...)
	p.cmd.Env = p.env
	p.cmd.Stdout = f
	p.cmd.Stderr = f
	p.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := p.cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	p.done = make(chan error, 1)
	go func() { p.done <- p.cmd.Wait(); f.Close() }()
	return nil
}

// Running reports whether the process has not exited.
func (p *Proc) Running() bool {
	select {
	case err := <-p.done:
		p.done <- err
		return false
	default:
		return true
	}
}

// Restart starts the process again after it exited or was killed.
func (p *Proc) Restart() error { return p.start() }

// Kill sends SIGKILL and waits for the exit.
func (p *Proc) Kill() {
	if p.cmd == nil || p.cmd.Process == nil || !p.Running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
	p.done <- nil
}

// Pause and Resume send SIGSTOP and SIGCONT.
func (p *Proc) Pause()  { _ = p.cmd.Process.Signal(syscall.SIGSTOP) }
func (p *Proc) Resume() { _ = p.cmd.Process.Signal(syscall.SIGCONT) }

// Stop asks the process to shut down (SIGTERM) and kills it after grace.
func (p *Proc) Stop(grace time.Duration) {
	if p.cmd == nil || p.cmd.Process == nil || !p.Running() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGCONT)
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.done:
		p.done <- err
	case <-time.After(grace):
		p.Kill()
	}
}

// Wait waits for the process to exit (a failpoint crash, say).
func (p *Proc) Wait(timeout time.Duration) (exited bool) {
	select {
	case err := <-p.done:
		p.done <- err
		return true
	case <-time.After(timeout):
		return false
	}
}

// ExitCode is the status of a process that has exited (after Wait or Kill
// returned); -1 while it runs or when a signal ended it.
func (p *Proc) ExitCode() int {
	if p.Running() || p.cmd == nil || p.cmd.ProcessState == nil {
		return -1
	}
	return p.cmd.ProcessState.ExitCode()
}

// Ready asks the service's /readyz and returns whether it answered 200,
// with the body (which names the failing checks).
func (p *Proc) Ready(ctx context.Context) (bool, string) {
	if p.Metrics == "" {
		return false, "no metrics address"
	}
	cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(cctx, http.MethodGet, "http://"+p.Metrics+"/readyz", nil)
	if err != nil {
		return false, err.Error()
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return false, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	return resp.StatusCode == http.StatusOK, strings.TrimSpace(string(body))
}
