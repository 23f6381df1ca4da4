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
	"sync"
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
	env     []string
	bin     string

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan error
	// gen counts starts, so a supervisor restart never races an explicit one.
	gen int
	// supervise restarts the process when it exits by itself (see
	// Supervise); manual marks an exit we caused (Kill, Stop), which waits
	// for an explicit Restart instead.
	supervise bool
	backoff   time.Duration
	manual    bool
	crashes   []string
}

// Supervise makes the harness act as Kubernetes would: when the process
// exits by itself (it crashed, or refused to start because a dependency
// was down), it is started again after backoff. Kill and Stop are not
// crashes: after Kill the caller restarts it, after Stop nobody does.
func (p *Proc) Supervise(backoff time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.supervise = true
	p.backoff = backoff
}

// Crashes lists the exits the supervisor restarted, each with the last
// line of the log before it.
func (p *Proc) Crashes() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.crashes...)
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
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.startLocked()
}

func (p *Proc) startLocked() error {
	f, err := os.OpenFile(p.Log, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(p.bin, p.Args...)
	cmd.Env = p.env
	cmd.Stdout = f
	cmd.Stderr = f
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", p.Name, err)
	}
	p.gen++
	gen := p.gen
	p.cmd, p.manual = cmd, false
	done := make(chan error, 1)
	p.done = done
	go func() {
		err := cmd.Wait()
		f.Close()
		done <- err
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.supervise || p.manual || p.gen != gen {
			return
		}
		p.crashes = append(p.crashes, fmt.Sprintf("%v: %s", err, lastLine(p.Log)))
		time.AfterFunc(p.backoff, func() {
			p.mu.Lock()
			defer p.mu.Unlock()
			if p.supervise && !p.manual && p.gen == gen {
				_ = p.startLocked()
			}
		})
	}()
	return nil
}

func lastLine(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	l := lines[len(lines)-1]
	if len(l) > 200 {
		l = l[:200] + "…"
	}
	return l
}

func (p *Proc) current() (*exec.Cmd, chan error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.cmd, p.done
}

// Running reports whether the process has not exited.
func (p *Proc) Running() bool {
	_, done := p.current()
	if done == nil {
		return false
	}
	select {
	case err := <-done:
		done <- err
		return false
	default:
		return true
	}
}

// Restart starts the process again after it exited or was killed.
func (p *Proc) Restart() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.done != nil {
		select {
		case err := <-p.done:
			p.done <- err
		default:
			return fmt.Errorf("restart %s: it is still running", p.Name)
		}
	}
	return p.startLocked()
}

// Kill sends SIGKILL and waits for the exit.
func (p *Proc) Kill() {
	p.mu.Lock()
	p.manual = true
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGKILL)
	err := <-done
	done <- err
}

// Pause and Resume send SIGSTOP and SIGCONT.
func (p *Proc) Pause()  { p.signal(syscall.SIGSTOP) }
func (p *Proc) Resume() { p.signal(syscall.SIGCONT) }

func (p *Proc) signal(sig syscall.Signal) {
	if cmd, _ := p.current(); cmd != nil && cmd.Process != nil {
		_ = cmd.Process.Signal(sig)
	}
}

// Stop asks the process to shut down (SIGTERM) and kills it after grace;
// a supervised process stays down.
func (p *Proc) Stop(grace time.Duration) {
	p.mu.Lock()
	p.supervise, p.manual = false, true
	cmd, done := p.cmd, p.done
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil || !p.Running() {
		return
	}
	_ = cmd.Process.Signal(syscall.SIGCONT)
	_ = cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-done:
		done <- err
	case <-time.After(grace):
		p.Kill()
	}
}

// Wait waits for the process to exit (a failpoint crash, say).
func (p *Proc) Wait(timeout time.Duration) (exited bool) {
	_, done := p.current()
	select {
	case err := <-done:
		done <- err
		return true
	case <-time.After(timeout):
		return false
	}
}

// ExitCode is the status of a process that has exited (after Wait or Kill
// returned); -1 while it runs or when a signal ended it.
func (p *Proc) ExitCode() int {
	cmd, _ := p.current()
	if p.Running() || cmd == nil || cmd.ProcessState == nil {
		return -1
	}
	return cmd.ProcessState.ExitCode()
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
