package plugin

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// deployment is one run's server, restarted while it fails, up to a bound.
type deployment struct {
	d      *Deployer
	plugin string
	run    string
	spec   *DeploySpec
	log    *slog.Logger
	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	// token authenticates Weft's calls to the server (DeployTokenEnv):
	// made per deployment, known only to Weft and the server's process.
	token string

	mu   sync.Mutex
	st   DeploymentStatus
	base string // http://127.0.0.1:<port> while deployed
}

// The deployed server's environment names the loopback address to listen
// on and the token every call of Weft's carries, as "Authorization:
// Bearer <token>"; a server must answer 401 to a call without it, so that
// nothing else on the machine (another user, a browser page reaching
// 127.0.0.1) can use the model.
const (
	DeployHostEnv  = "HOST"
	DeployTokenEnv = "PLUGIN_DEPLOY_TOKEN"
)

// newToken makes a deployment's token.
func newToken() string {
	b := make([]byte, 32)
	_, _ = rand.Read(b) // never fails
	return hex.EncodeToString(b)
}

// authorize adds the deployment's token to a call of its server.
func (p *deployment) authorize(req *http.Request) {
	req.Header.Set("Authorization", "Bearer "+p.token)
}

func (d *Deployer) newDeployment(l Deployable) *deployment {
	ctx, cancel := context.WithCancel(context.Background())
	return &deployment{d: d, plugin: l.Plugin, run: l.Run, spec: l.Spec, log: d.opts.RunLog(l.Run).With("stage", "deploy"),
		ctx: ctx, cancel: cancel, done: make(chan struct{}), token: newToken(),
		st: DeploymentStatus{Plugin: l.Plugin, Run: l.Run, Status: DeployDeploying, Explain: l.Spec.HTTP.Explain}}
}

func (p *deployment) status() DeploymentStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.st
}

func (p *deployment) baseURL() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.base
}

func (p *deployment) update(f func(st *DeploymentStatus)) {
	p.mu.Lock()
	defer p.mu.Unlock()
	f(&p.st)
}

// refuse ends a deployment that may not start: deploy_failed, with why.
func (p *deployment) refuse(err error) {
	p.update(func(st *DeploymentStatus) { st.Status, st.LastError = DeployFailed, "not started: "+err.Error() })
	p.log.Error("deployment refused", "plugin", p.plugin, "error", err)
	close(p.done)
	go p.failed()
}

// failed tells DeployOptions.Failed that the deployment ended
// deploy_failed.
func (p *deployment) failed() {
	if p.d.opts.Failed == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), deployCheckTimeout)
	defer cancel()
	p.d.opts.Failed(ctx, p.status())
}

// stop ends the deployment and waits for its server to be gone.
func (p *deployment) stop() {
	p.cancel()
	<-p.done
}

// supervise starts the server and restarts it while it fails, until
// the deployment is stopped or restarted MaxRestarts times.
func (p *deployment) supervise(parent context.Context) {
	defer close(p.done)
	ctx, stop := context.WithCancel(p.ctx)
	defer stop()
	go func() { // the deployer's end stops it too
		select {
		case <-parent.Done():
			stop()
		case <-ctx.Done():
		}
	}()
	p.log.Info("deploying", "plugin", p.plugin, "start_server_cmd", p.spec.HTTP.StartServerCmd)
	healthy := false
	for {
		err := p.serveOnce(ctx, &healthy)
		if ctx.Err() != nil {
			p.update(func(st *DeploymentStatus) { st.Status, st.PID = DeployStopped, 0 })
			p.log.Info("deployment stopped", "plugin", p.plugin)
			return
		}
		st := p.status()
		if !healthy || st.Restarts >= p.d.opts.MaxRestarts {
			msg := err.Error()
			if healthy {
				msg = fmt.Sprintf("gave up after %d restarts: %s", st.Restarts, msg)
			}
			p.update(func(st *DeploymentStatus) { st.Status, st.LastError, st.PID = DeployFailed, msg, 0 })
			p.log.Error("deployment failed", "plugin", p.plugin, "error", msg)
			p.failed()
			return
		}
		p.update(func(st *DeploymentStatus) {
			st.Status, st.LastError, st.Restarts = DeployDeploying, err.Error(), st.Restarts+1
		})
		p.log.Warn("deployed server failed: restarting", "plugin", p.plugin, "restart", st.Restarts+1, "error", err)
	}
}

// serveOnce runs the server once in a fresh working directory: until it
// answers statusPath, then while it does. It returns why it ended; the
// process group is gone by then. healthy is set once it was.
func (p *deployment) serveOnce(ctx context.Context, healthy *bool) error {
	opts := p.d.opts
	dir, err := os.MkdirTemp(opts.WorkDir, "weft-deploy-"+p.plugin+"-")
	if err != nil {
		return fmt.Errorf("working directory: %w", err)
	}
	defer os.RemoveAll(dir)
	manifest, err := json.MarshalIndent(p.d.svc.deployManifest(p.run, p.spec), "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "manifest.json"), manifest, 0o600); err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	port, err := freePort()
	if err != nil {
		return err
	}
	cmdline := substitutePort(p.spec.HTTP.StartServerCmd, p.spec.HTTP.Port, port)
	pctx, kill := context.WithCancel(ctx)
	defer kill()
	cmd := exec.CommandContext(pctx, "/bin/sh", "-c", cmdline)
	isolate(cmd, dir, []string{"PLUGIN_MANIFEST=manifest.json", fmt.Sprintf("PORT=%d", port),
		DeployHostEnv + "=127.0.0.1", DeployTokenEnv + "=" + p.token})
	out := &outputLog{log: p.log.With("plugin", p.plugin), left: MaxOutputBytesDefault}
	stdout, stderr := out.writer("stdout", nil), out.writer("stderr", &out.tail)
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		stdout.Close()
		stderr.Close()
		return fmt.Errorf("start %q: %w", cmdline, err)
	}
	pid := cmd.Process.Pid
	exited := make(chan struct{})
	var waitErr error
	go func() {
		waitErr = cmd.Wait()
		stdout.Close()
		stderr.Close()
		close(exited)
	}()
	defer func() {
		kill()
		syscall.Kill(-pid, syscall.SIGKILL) //nolint:errcheck // what the shell left behind, if anything
		<-exited
		p.mu.Lock()
		p.base = ""
		p.mu.Unlock()
	}()
	now := time.Now().UTC().Truncate(time.Second)
	p.update(func(st *DeploymentStatus) { st.Port, st.PID, st.StartedAt = port, pid, &now })
	p.log.Info("server started", "plugin", p.plugin, "port", port, "pid", pid, "cmd", cmdline)
	base := fmt.Sprintf("http://127.0.0.1:%d", port)
	withTail := func(msg string) error {
		if t := out.tailString(); t != "" {
			msg += "; stderr:\n" + t
		}
		return errors.New(msg)
	}

	deadline := time.NewTimer(opts.StartTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(deployReadyInterval)
	defer tick.Stop()
	for {
		err := p.check(ctx, base)
		if err == nil {
			break
		}
		select {
		case <-exited:
			return withTail(fmt.Sprintf("the server exited (%v) before POST %s answered 200", waitErr, p.spec.HTTP.StatusPath))
		case <-deadline.C:
			return withTail(fmt.Sprintf("POST %s did not answer 200 within %s (last: %v)", p.spec.HTTP.StatusPath, opts.StartTimeout, err))
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
	if at := reachableBeyondLoopback(port); at != "" {
		return fmt.Errorf("the server also listens on %s: a deployed server must listen on 127.0.0.1 only ($%s), where only Weft calls it", at, DeployHostEnv)
	}
	*healthy = true
	p.mu.Lock()
	p.base = base
	p.mu.Unlock()
	if !p.d.promote(p) {
		p.cancel() // a newer run was deployed meanwhile
		return ctx.Err()
	}
	// Deployed only once it serves the plugin's predictions: a client that
	// sees the status may predict at once.
	p.mu.Lock()
	p.st.Status = DeployDeployed
	p.mu.Unlock()
	p.log.Info("deployed", "plugin", p.plugin, "port", port)

	tick.Reset(opts.CheckInterval)
	failures := 0
	for {
		select {
		case <-exited:
			return withTail(fmt.Sprintf("the server exited (%v)", waitErr))
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
		if err := p.check(ctx, base); err != nil {
			failures++
			p.log.Warn("status check failed", "plugin", p.plugin, "failures", failures, "error", err)
			if failures >= opts.MaxFailures {
				return fmt.Errorf("%d status checks in a row failed, the last: %v", failures, err)
			}
			continue
		}
		failures = 0
	}
}

// check POSTs statusPath: nil on 200.
func (p *deployment) check(ctx context.Context, base string) error {
	ctx, cancel := context.WithTimeout(ctx, deployCheckTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+p.spec.HTTP.StatusPath, bytes.NewReader([]byte("{}")))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	p.authorize(req)
	resp, err := p.d.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20)) //nolint:errcheck // only the status matters
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("POST %s answered %s", p.spec.HTTP.StatusPath, resp.Status)
	}
	return nil
}

// reachableBeyondLoopback returns an address of this machine other than
// loopback where something accepts connections on port, or "".
func reachableBeyondLoopback(port int) string {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return ""
	}
	for _, a := range addrs {
		ipn, ok := a.(*net.IPNet)
		if !ok || ipn.IP.IsLoopback() || ipn.IP.IsLinkLocalUnicast() {
			continue
		}
		at := net.JoinHostPort(ipn.IP.String(), strconv.Itoa(port))
		if c, err := net.DialTimeout("tcp", at, 200*time.Millisecond); err == nil {
			c.Close()
			return at
		}
	}
	return ""
}

// freePort asks the system for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
