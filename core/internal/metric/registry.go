package metric

import (
	"bytes"
	"errors"
	"io"
	"strconv"
	"sync"

	vm "github.com/VictoriaMetrics/metrics"
)

func init() {
	// # HELP and # TYPE lines: a Prometheus parser then knows the
	// histograms and counters for what they are.
	vm.ExposeMetadata(true)
}

// Kind is the type of a family of series.
type Kind uint8

// The kinds.
const (
	Counter Kind = iota + 1
	Gauge
	Histogram
)

// String returns the kind's name in the exposition format.
func (k Kind) String() string {
	switch k {
	case Counter:
		return "counter"
	case Gauge:
		return "gauge"
	case Histogram:
		return "histogram"
	}
	return "untyped"
}

// Registry holds the series of one gateway, across its reloads. It is
// safe for concurrent use; its lock is taken when a series is made or
// written out, never to update one.
type Registry struct {
	set *vm.Set

	mu      sync.Mutex
	series  map[string]*series // by full name
	kinds   map[string]Kind    // by family
	claims  map[string]uint64  // claim key -> the last build that claimed it
	gen     uint64             // the last build begun
	serving uint64             // the build whose runtime serves
	writers []func(w io.Writer)
	funcs   map[string][]*funcSeries // by full name: the series read at scrape time
}

// funcSeries is a counter or gauge whose value a function of a build
// gives, read when /metrics is scraped (Build.CounterFunc,
// Build.GaugeFunc).
type funcSeries struct {
	gen     uint64
	counter *vm.FloatCounter
	gauge   *vm.Gauge
	count   func() float64
	value   func() float64
	last    float64 // what count returned when last read
}

// read brings the series up to date with its function: a counter adds
// what count gained since the last read (a count that went down starts
// again from there), a gauge takes value.
func (f *funcSeries) read() {
	if f.gauge != nil {
		f.gauge.Set(f.value())
		return
	}
	n := f.count()
	if n > f.last {
		f.counter.Add(n - f.last)
	}
	f.last = n
}

// series is what the registry knows of one series.
type series struct {
	claim     string // "" when it belongs to the builds that ask for it
	key       string // the label values of a lazy series, as its maker keys them
	gen       uint64 // the last build that asked for it (or served it)
	created   uint64 // the build that made it
	permanent bool   // the process's own: never removed
	read      bool   // a counter read at scrape time (CounterFunc): a float counter
}

// NewRegistry returns an empty registry.
func NewRegistry() *Registry {
	return &Registry{set: vm.NewSet(), series: map[string]*series{}, kinds: map[string]Kind{},
		claims: map[string]uint64{}, funcs: map[string][]*funcSeries{}}
}

// readFuncs reads the functions of the series read at scrape time: those
// of the build in service (a build not yet in service is not read).
func (r *Registry) readFuncs() {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, fs := range r.funcs {
		for _, f := range fs {
			if f.gen <= r.serving {
				f.read()
			}
		}
	}
}

// WritePrometheus writes every series in the Prometheus text format
// (version 0.0.4): the registry's series sorted by family, then what
// the writers (AddWriter) write.
func (r *Registry) WritePrometheus(w io.Writer) {
	r.readFuncs()
	r.set.WritePrometheus(w)
	r.mu.Lock()
	writers := r.writers
	r.mu.Unlock()
	for _, f := range writers {
		f(w)
	}
}

// AddWriter adds f to what WritePrometheus writes, after the registry's
// own series: for series read from state at scrape time (gauges of the
// configuration in service). f writes whole families, with their
// metadata (WriteFamily), that no series of the registry has.
func (r *Registry) AddWriter(f func(w io.Writer)) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.writers = append(r.writers, f)
}

// Counter returns the process-wide counter called family with labels
// (name, value pairs), made on first use: a series of the gateway
// itself, never removed by a reload (reloads_total). It panics on a
// bad name: the gateway's own names are fixed.
func (r *Registry) Counter(family string, labels ...string) *vm.Counter {
	name, err := r.make(family, Counter, labels)
	if err != nil {
		panic(err)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.track(name, 0)
	s.permanent = true
	return r.set.GetOrCreateCounter(name)
}

// make checks family's kind and returns the series' full name.
func (r *Registry) make(family string, k Kind, labels []string) (string, error) {
	name, err := Name(family, labels...)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if had, ok := r.kinds[family]; ok && had != k {
		return "", errors.New("metric " + strconv.Quote(family) + " is a " + had.String() + ", not a " + k.String())
	}
	r.kinds[family] = k
	return name, nil
}

// track records that build gen asks for the series name; r.mu is held.
func (r *Registry) track(name string, gen uint64) *series {
	s := r.series[name]
	if s == nil {
		s = &series{created: gen}
		r.series[name] = s
	}
	if gen > s.gen {
		s.gen = gen
	}
	return s
}

// Build is the series one configuration build asks for. Its runtime
// keeps it: LazyCounter makes series on the request path. A nil *Build
// makes nothing (metrics are off): its methods return nil metrics.
type Build struct {
	r   *Registry
	gen uint64

	mu   sync.Mutex
	errs []error
}

// Note records err (a bad metric name, a family of two kinds) against
// the step being built; TakeErrors returns it.
func (b *Build) Note(err error) {
	if b == nil || err == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.errs = append(b.errs, err)
}

// TakeErrors returns the errors noted since the last call, and forgets
// them.
func (b *Build) TakeErrors() []error {
	if b == nil {
		return nil
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	errs := b.errs
	b.errs = nil
	return errs
}

// Begin starts a build.
func (r *Registry) Begin() *Build {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.gen++
	return &Build{r: r, gen: r.gen}
}

// Counter returns the counter called family with labels (name, value
// pairs): the one made before under the same name, or a new one. The
// error says what is wrong with the name, or that family is of another
// kind.
func (b *Build) Counter(family string, labels ...string) (*vm.Counter, error) {
	if b == nil {
		return nil, nil
	}
	name, err := b.r.make(family, Counter, labels)
	if err != nil {
		return nil, err
	}
	b.r.mu.Lock()
	defer b.r.mu.Unlock()
	if s, ok := b.r.series[name]; ok && s.read {
		return nil, errors.New("metric " + strconv.Quote(name) + " is read at scrape time, not counted")
	}
	b.r.track(name, b.gen)
	return b.r.set.GetOrCreateCounter(name), nil
}

// Gauge returns the gauge called family with labels, which its owner
// sets (Set, Inc, Dec); see Counter.
func (b *Build) Gauge(family string, labels ...string) (*vm.Gauge, error) {
	if b == nil {
		return nil, nil
	}
	name, err := b.r.make(family, Gauge, labels)
	if err != nil {
		return nil, err
	}
	b.r.mu.Lock()
	defer b.r.mu.Unlock()
	b.r.track(name, b.gen)
	return b.r.set.GetOrCreateGauge(name, nil), nil
}

// Histogram returns the Prometheus histogram (le buckets, upper bounds
// in seconds or whatever unit the family has) called family with
// labels; see Counter. A histogram made before keeps its buckets.
func (b *Build) Histogram(family string, buckets []float64, labels ...string) (*vm.PrometheusHistogram, error) {
	if b == nil {
		return nil, nil
	}
	if err := vm.ValidateBuckets(buckets); err != nil {
		return nil, errors.New("metric " + strconv.Quote(family) + ": " + err.Error())
	}
	name, err := b.r.make(family, Histogram, labels)
	if err != nil {
		return nil, err
	}
	b.r.mu.Lock()
	defer b.r.mu.Unlock()
	b.r.track(name, b.gen)
	return b.r.set.GetOrCreatePrometheusHistogramExt(name, buckets), nil
}

// CounterFunc makes the counter called family with labels (see
// Counter) count what count gains: count is a count its owner keeps
// (an atomic counter of a plugin instance, or of something it shares
// with the instances before it), read when /metrics is scraped, never
// per request. The counter adds what count gained since it was last
// read; when a later build serves, this build's count is read a last
// time and the next build's count is counted from the value it has
// then. So the series keeps counting across reloads, whether the next
// build's instance starts from 0 or shares the same count. A series
// asked for twice in one build keeps the first function. count must be
// cheap and must not call the registry.
func (b *Build) CounterFunc(family string, count func() float64, labels ...string) error {
	if b == nil {
		return nil
	}
	name, err := b.r.make(family, Counter, labels)
	if err != nil {
		return err
	}
	r := b.r
	r.mu.Lock()
	if s, ok := r.series[name]; ok && !s.read {
		r.mu.Unlock()
		return errors.New("metric " + strconv.Quote(name) + " is counted by a step, not read")
	}
	r.track(name, b.gen).read = true
	c := r.set.GetOrCreateFloatCounter(name)
	r.mu.Unlock()
	b.addFunc(name, &funcSeries{gen: b.gen, counter: c, count: count})
	return nil
}

// GaugeFunc makes the gauge called family with labels take the value
// value returns when /metrics is scraped (the function of the build in
// service). value must be cheap and must not call the registry.
func (b *Build) GaugeFunc(family string, value func() float64, labels ...string) error {
	if b == nil {
		return nil
	}
	g, err := b.Gauge(family, labels...)
	if err != nil {
		return err
	}
	name, _ := Name(family, labels...)
	b.addFunc(name, &funcSeries{gen: b.gen, gauge: g, value: value})
	return nil
}

func (b *Build) addFunc(name string, f *funcSeries) {
	r := b.r
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, had := range r.funcs[name] {
		if had.gen == b.gen {
			return
		}
	}
	r.funcs[name] = append(r.funcs[name], f)
}

// ClaimKey returns the key of the series of family that belong to
// owner ("route:api", "script:scripts/x.lua").
func ClaimKey(family, owner string) string { return family + "\x00" + owner }

// Claim keeps the series LazyCounter made under ClaimKey(family, owner),
// by this build's runtime or earlier ones, once b's runtime serves.
func (b *Build) Claim(family, owner string) {
	if b == nil {
		return
	}
	b.r.mu.Lock()
	defer b.r.mu.Unlock()
	b.r.claims[ClaimKey(family, owner)] = b.gen
}

// LazyCounter returns the counter called family with labels, made now
// if it does not exist, as a series of the claim ClaimKey(family,
// owner). It is meant for the request path, once per series (the caller
// keeps what it returns): it takes the registry's lock. When b's runtime
// was replaced and no build in service claims the series (its route was
// removed), the counter returned counts into nothing. A bad name
// returns nil.
func (b *Build) LazyCounter(family, owner string, labels ...string) *vm.Counter {
	return b.LazyCounterKey(family, owner, "", labels...)
}

// LazyCounterKey is LazyCounter for a series its maker finds again by
// key (its label values): see Claimed.
func (b *Build) LazyCounterKey(family, owner, key string, labels ...string) *vm.Counter {
	if b == nil {
		return nil
	}
	name, err := b.r.make(family, Counter, labels)
	if err != nil {
		return nil
	}
	claim := ClaimKey(family, owner)
	r := b.r
	r.mu.Lock()
	defer r.mu.Unlock()
	had, exists := r.series[name]
	current := b.gen >= r.serving || r.serving != 0 && r.claims[claim] == r.serving
	if !exists && !current || exists && had.read {
		return detached()
	}
	s := r.track(name, b.gen)
	s.claim, s.key = claim, key
	return r.set.GetOrCreateCounter(name)
}

// Claimed returns the counters LazyCounterKey made under ClaimKey(family,
// owner), by their key: what a maker rebuilt by a reload starts from.
func (b *Build) Claimed(family, owner string) map[string]*vm.Counter {
	if b == nil {
		return nil
	}
	claim := ClaimKey(family, owner)
	r := b.r
	r.mu.Lock()
	defer r.mu.Unlock()
	out := map[string]*vm.Counter{}
	for name, s := range r.series {
		if s.claim == claim && s.key != "" {
			out[s.key] = r.set.GetOrCreateCounter(name)
		}
	}
	return out
}

// detached returns a counter that no registry writes out.
func detached() *vm.Counter { return vm.NewSet().NewCounter("moongate_detached_total") }

// Commit records that b's runtime now serves, and removes the series
// that b did not ask for and whose claim b did not make: those of what
// the configuration no longer has.
func (b *Build) Commit() {
	if b == nil {
		return
	}
	r := b.r
	r.mu.Lock()
	defer r.mu.Unlock()
	r.serving = b.gen
	for name, s := range r.series {
		switch {
		case s.permanent || s.gen >= b.gen:
		case s.claim != "" && r.claims[s.claim] == b.gen:
			s.gen = b.gen
		default:
			r.set.UnregisterMetric(name)
			delete(r.series, name)
		}
	}
	for k, g := range r.claims {
		if g < b.gen {
			delete(r.claims, k)
		}
	}
	// The functions of the builds before b are read a last time and
	// dropped (with their instances); b's counters count from now on.
	for name, fs := range r.funcs {
		keep := fs[:0]
		for _, f := range fs {
			switch {
			case f.gen < b.gen:
				if f.counter != nil {
					f.read()
				}
			case f.gen == b.gen:
				if f.counter != nil {
					f.last = f.count()
				}
				keep = append(keep, f)
			default:
				keep = append(keep, f)
			}
		}
		clear(fs[len(keep):])
		if _, ok := r.series[name]; !ok || len(keep) == 0 {
			delete(r.funcs, name)
			continue
		}
		r.funcs[name] = keep
	}
}

// Abort removes the series that b made: its build failed, and the
// runtime in service keeps its own.
func (b *Build) Abort() {
	if b == nil {
		return
	}
	r := b.r
	r.mu.Lock()
	defer r.mu.Unlock()
	for name, s := range r.series {
		if s.created == b.gen && !s.permanent {
			r.set.UnregisterMetric(name)
			delete(r.series, name)
		}
	}
	for name, fs := range r.funcs {
		keep := fs[:0]
		for _, f := range fs {
			if f.gen != b.gen {
				keep = append(keep, f)
			}
		}
		clear(fs[len(keep):])
		if len(keep) == 0 {
			delete(r.funcs, name)
		} else {
			r.funcs[name] = keep
		}
	}
}

// Name returns the full name of a series: family{name="value",...},
// with labels given as name, value pairs, values escaped as the text
// format wants (backslash, double quote, line feed).
func Name(family string, labels ...string) (string, error) {
	if !validName(family, true) {
		return "", errors.New("metric name " + strconv.Quote(family) + " is not a valid Prometheus name ([a-zA-Z_:][a-zA-Z0-9_:]*)")
	}
	if len(labels)%2 != 0 {
		return "", errors.New("metric " + strconv.Quote(family) + ": labels come in name, value pairs")
	}
	if len(labels) == 0 {
		return family, nil
	}
	var b bytes.Buffer
	b.WriteString(family)
	b.WriteByte('{')
	for i := 0; i < len(labels); i += 2 {
		if !validName(labels[i], false) || len(labels[i]) > 1 && labels[i][:2] == "__" {
			return "", errors.New("metric " + strconv.Quote(family) + ": label name " + strconv.Quote(labels[i]) +
				" is not a valid Prometheus label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with __)")
		}
		if labels[i] == "le" || labels[i] == "quantile" {
			return "", errors.New("metric " + strconv.Quote(family) + ": label name " + strconv.Quote(labels[i]) + " is reserved")
		}
		for j := 0; j < i; j += 2 {
			if labels[j] == labels[i] {
				return "", errors.New("metric " + strconv.Quote(family) + ": label " + strconv.Quote(labels[i]) + " given twice")
			}
		}
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteString(labels[i])
		b.WriteString(`="`)
		writeEscaped(&b, labels[i+1])
		b.WriteByte('"')
	}
	b.WriteByte('}')
	return b.String(), nil
}

// MustName is Name for the gateway's own names, which are fixed: it
// panics on a bad one.
func MustName(family string, labels ...string) string {
	n, err := Name(family, labels...)
	if err != nil {
		panic(err)
	}
	return n
}

func writeEscaped(b *bytes.Buffer, v string) {
	for i := 0; i < len(v); i++ {
		switch c := v[i]; c {
		case '\\':
			b.WriteString(`\\`)
		case '"':
			b.WriteString(`\"`)
		case '\n':
			b.WriteString(`\n`)
		default:
			b.WriteByte(c)
		}
	}
}

// validName reports whether s is a metric name (colons allowed) or a
// label name.
func validName(s string, colon bool) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c == '_':
		case c == ':' && colon:
		case c >= '0' && c <= '9' && i > 0:
		default:
			return false
		}
	}
	return true
}

// ValidName reports whether s may be a metric name.
func ValidName(s string) bool { return validName(s, true) }

// WriteFamily writes the metadata lines of a family (# HELP, # TYPE),
// for writers (AddWriter), before its series.
func WriteFamily(w io.Writer, family string, k Kind) {
	vm.WriteMetadataIfNeeded(w, family, k.String())
}

// WriteValue writes one series line: name (from Name) and its value.
func WriteValue(w io.Writer, name string, v float64) {
	b := append([]byte(name), ' ')
	b = strconv.AppendFloat(b, v, 'g', -1, 64)
	w.Write(append(b, '\n'))
}
