package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"text/template"
	"time"

	"github.com/moongate/moongate/bench/conf"
)

// Layout places the proxy, and wrk with the origin, on CPUs.
type Layout struct {
	// Name is "pinned" or "shared".
	Name string
	// ProxyCPUs and LoadCPUs are taskset CPU lists; "" runs unpinned.
	ProxyCPUs, LoadCPUs string
	// ProxyCores is what the proxy is told to use: nginx worker_processes,
	// haproxy nbthread, varnish thread_pools, GOMAXPROCS. LoadCores is the
	// number of wrk threads and the origin's GOMAXPROCS.
	ProxyCores, LoadCores int
}

// newLayout builds a layout for a machine of ncpu CPUs. "pinned" gives the
// proxy the last proxyCores CPUs and wrk with the origin the others;
// "shared" pins nothing and lets everything use every CPU.
func newLayout(name string, proxyCores, ncpu int) (Layout, error) {
	switch name {
	case "shared":
		return Layout{Name: name, ProxyCores: ncpu, LoadCores: ncpu}, nil
	case "pinned":
		if proxyCores < 1 || proxyCores >= ncpu {
			return Layout{}, fmt.Errorf("layout pinned: -proxy-cores must be 1 to %d on this %d-CPU machine", ncpu-1, ncpu)
		}
		return Layout{Name: name, ProxyCPUs: cpuList(ncpu-proxyCores, ncpu-1), LoadCPUs: cpuList(0, ncpu-proxyCores-1),
			ProxyCores: proxyCores, LoadCores: ncpu - proxyCores}, nil
	}
	return Layout{}, fmt.Errorf("unknown layout %q (pinned or shared)", name)
}

func cpuList(first, last int) string {
	if first == last {
		return strconv.Itoa(first)
	}
	return strconv.Itoa(first) + "-" + strconv.Itoa(last)
}

func pin(cpus string) []string {
	if cpus == "" {
		return nil
	}
	return []string{"taskset", "-c", cpus}
}

// Describe says where everything runs.
func (l Layout) Describe(connections int) string {
	load := fmt.Sprintf("wrk (%d thread(s), %d connections) and the origin (GOMAXPROCS=%d)", l.LoadCores, connections, l.LoadCores)
	cores := fmt.Sprintf("%d core(s): nginx worker_processes %d, haproxy nbthread %d, varnish thread_pools %d, GOMAXPROCS=%d for moongate and the floor",
		l.ProxyCores, l.ProxyCores, l.ProxyCores, l.ProxyCores, l.ProxyCores)
	if l.Name == "shared" {
		return "shared: nothing pinned; the proxy is given " + cores + "; " + load + " share every CPU"
	}
	return fmt.Sprintf("pinned: the proxy on CPU %s (%s); %s on CPU %s", l.ProxyCPUs, cores, load, l.LoadCPUs)
}

// tmplData are the fields of the templates in bench/conf.
type tmplData struct {
	Listen, Backend, BackendHost, BackendPort string
	Cores                                     int
	Dir, Script, Key                          string
	NoFile, MaxConn                           int
	LuaModules                                string
	Redis                                     string
}

var templates = template.Must(template.New("").ParseFS(conf.FS, "*.tmpl"))

// render writes a contender's configuration into dir and returns its path.
func (e *Env) render(c Contender, dir, listen string) (string, error) {
	if c.Template == "" {
		return "", nil
	}
	host, port, _ := net.SplitHostPort(e.Backend)
	d := tmplData{Listen: listen, Backend: e.Backend, BackendHost: host, BackendPort: port,
		Cores: e.Layout.ProxyCores, Dir: dir, Script: e.Script, Key: apiKey,
		NoFile: e.NoFile, MaxConn: max(e.NoFile/2-64, 256), LuaModules: e.LuaModules, Redis: e.Redis}
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, c.Template+".tmpl", d); err != nil {
		return "", err
	}
	file := filepath.Join(dir, c.Template)
	return file, os.WriteFile(file, b.Bytes(), 0o644)
}

// command returns the command line that runs a contender, and its extra
// environment.
func (e *Env) command(c Contender, dir, file, listen string) (argv, env []string) {
	cores := strconv.Itoa(e.Layout.ProxyCores)
	switch c.Kind {
	case kindMoongate:
		bin := e.bin("moongate")
		if e.moongate != "" {
			bin = e.moongate
		}
		argv, env = []string{bin, "run", "-c", file}, []string{"GOMAXPROCS=" + cores}
	case kindFloor:
		argv, env = []string{e.bin("bareproxy"), "-listen", listen, "-upstream", e.Backend}, []string{"GOMAXPROCS=" + cores}
	case kindNginx:
		argv = []string{"nginx", "-p", dir + "/", "-c", file, "-e", filepath.Join(dir, "error.log")}
	case kindHAProxy:
		argv = []string{"haproxy", "-db", "-f", file}
	case kindVarnish:
		argv = []string{"varnishd", "-F", "-j", "none", "-n", filepath.Join(dir, "varnish"), "-a", listen,
			"-f", file, "-s", "malloc,256m", "-p", "thread_pools=" + cores}
	}
	return append(pin(e.Layout.ProxyCPUs), argv...), append(env, e.extraEnv...)
}

// bin returns the path of a program built by compare.sh.
func (e *Env) bin(name string) string { return filepath.Join(e.Bin, name) }

// availability returns why a contender cannot run here, or "" if it can:
// its program must be installed and its configuration must pass the
// program's own check (moongate validate, nginx -t, haproxy -c, varnishd
// -C). A moongate configuration that needs a feature this build lacks is
// reported as such.
func (e *Env) availability(ctx context.Context, c Contender, dir string) string {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err.Error()
	}
	listen, err := freeAddr()
	if err != nil {
		return err.Error()
	}
	if c.Kind == kindNginx && strings.Contains(c.Template, "lua") && e.LuaModules == "" {
		return "not available: the nginx lua module is not installed (libnginx-mod-http-lua)"
	}
	if needsRedis(c) && e.Redis == "" {
		return "not available: redis-server is not installed (apt-get install redis-server)"
	}
	file, err := e.render(c, dir, listen)
	if err != nil {
		return "cannot render its configuration: " + err.Error()
	}
	var argv []string
	switch c.Kind {
	case kindMoongate:
		argv = []string{e.bin("moongate"), "validate", "-c", file}
	case kindFloor:
		argv = []string{e.bin("bareproxy"), "-h"}
	case kindNginx:
		argv = []string{"nginx", "-t", "-q", "-p", dir + "/", "-c", file, "-e", filepath.Join(dir, "error.log")}
	case kindHAProxy:
		argv = []string{"haproxy", "-c", "-q", "-f", file}
	case kindVarnish:
		argv = []string{"varnishd", "-C", "-j", "none", "-n", filepath.Join(dir, "varnish"), "-f", file}
	}
	if _, err := exec.LookPath(argv[0]); err != nil {
		return "not available: " + argv[0] + " is not installed"
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if c.Kind == kindFloor {
		return "" // -h exits 2; the binary runs
	}
	if err == nil {
		return ""
	}
	if c.Kind == kindMoongate {
		return "not available in this build: " + missingFeatures(string(out))
	}
	return "its configuration check failed: " + firstLine(string(out))
}

var (
	reUnknownPlugin = regexp.MustCompile(`unknown plugin "([^"]+)"`)
	reUnknownKey    = regexp.MustCompile(`(?m)^[^:]*: ([a-z_]+): unknown key`)
)

// missingFeatures turns `moongate validate` problems into what this build
// lacks: "plugin key-auth not registered; ...". Problems of another kind
// are quoted as they are.
func missingFeatures(out string) string {
	var parts []string
	seen := map[string]bool{}
	add := func(s string) {
		if !seen[s] {
			seen[s] = true
			parts = append(parts, s)
		}
	}
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		switch {
		case reUnknownPlugin.MatchString(line):
			add("plugin " + reUnknownPlugin.FindStringSubmatch(line)[1] + " not registered")
		case strings.Contains(line, "no script engine"):
			add("Lua script steps not supported")
		case reUnknownKey.MatchString(line):
			add("[" + reUnknownKey.FindStringSubmatch(line)[1] + "] not supported")
		case strings.TrimSpace(line) != "":
			add(strings.TrimSpace(line))
		}
	}
	if len(parts) == 0 {
		return "moongate validate failed"
	}
	return strings.Join(parts, "; ")
}

func firstLine(s string) string {
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if l = strings.TrimSpace(l); l != "" {
			return l
		}
	}
	return "(no output)"
}

// freeAddr returns a loopback address with a port free at the moment.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// Running is a started contender.
type Running struct {
	*Process
	// Base is "http://127.0.0.1:port".
	Base string
	// Listen is its host:port.
	Listen string
	// Dir holds its configuration and logs.
	Dir string
}

// start renders a contender's configuration into dir, starts it and waits
// until it answers HTTP on probe.
func (e *Env) start(ctx context.Context, c Contender, dir, probe string, headers []string) (*Running, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	listen, err := freeAddr()
	if err != nil {
		return nil, err
	}
	file, err := e.render(c, dir, listen)
	if err != nil {
		return nil, err
	}
	argv, env := e.command(c, dir, file, listen)
	p, err := startProcess(c.Name, argv, env, filepath.Join(dir, "output.log"))
	if err != nil {
		return nil, err
	}
	r := &Running{Process: p, Base: "http://" + listen, Listen: listen, Dir: dir}
	if err := waitHTTP(ctx, r.Base+probe, headers, p, 20*time.Second); err != nil {
		p.Stop(5 * time.Second)
		log, _ := os.ReadFile(filepath.Join(dir, "output.log"))
		return nil, fmt.Errorf("%s did not start: %v\n%s", c.Name, err, tail(string(log), 10))
	}
	return r, nil
}

// waitHTTP polls url until it answers anything over HTTP, p ends, or the
// wait runs out.
func waitHTTP(ctx context.Context, url string, headers []string, p *Process, wait time.Duration) error {
	deadline := time.Now().Add(wait)
	for {
		_, _, err := get(url, headers)
		if err == nil {
			return nil
		}
		if p != nil && p.Exited() {
			return errors.New("it exited")
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("no answer within %s: %v", wait, err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
