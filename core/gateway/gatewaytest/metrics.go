package gatewaytest

import (
	"sort"
	"strconv"
	"strings"
	"testing"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// Scraped is what GET /metrics answered, parsed by Prometheus's own text
// parser (github.com/prometheus/common/expfmt).
type Scraped struct {
	// Text is the answer as received.
	Text string
	// Families are the parsed families, by name.
	Families map[string]*dto.MetricFamily
}

// Scrape gets /metrics from the admin API at adminURL ("http://host:port")
// with the given header name, value pairs, and parses it; a status other
// than 200, a content type other than the text format's, or anything the
// parser refuses fails the test.
func Scrape(t testing.TB, adminURL string, headers ...string) *Scraped {
	t.Helper()
	st, body, resp := Do(t, "GET", adminURL+"/metrics", nil, headers...)
	if st != 200 {
		t.Fatalf("GET /metrics: %d %s", st, body)
	}
	if ct := string(resp.Header.ContentType()); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		t.Fatalf("GET /metrics: Content-Type %q", ct)
	}
	return Parse(t, string(body))
}

// Parse parses a Prometheus text exposition, failing the test on any
// error.
func Parse(t testing.TB, text string) *Scraped {
	t.Helper()
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(strings.NewReader(text))
	if err != nil {
		t.Fatalf("the Prometheus parser refuses /metrics: %v\n%s", err, text)
	}
	return &Scraped{Text: text, Families: fams}
}

// Value returns the value of the series of family with exactly the
// labels given (name, value pairs; an empty value matches an absent
// label): a counter's or gauge's value, a histogram's count. ok is false
// when there is no such series.
func (s *Scraped) Value(family string, labels ...string) (v float64, ok bool) {
	m := s.find(family, labels)
	if m == nil {
		return 0, false
	}
	switch {
	case m.Counter != nil:
		return m.Counter.GetValue(), true
	case m.Gauge != nil:
		return m.Gauge.GetValue(), true
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount()), true
	case m.Untyped != nil:
		return m.Untyped.GetValue(), true
	}
	return 0, false
}

// Histogram returns the histogram of family with exactly labels, nil
// when there is none.
func (s *Scraped) Histogram(family string, labels ...string) *dto.Histogram {
	if m := s.find(family, labels); m != nil {
		return m.Histogram
	}
	return nil
}

func (s *Scraped) find(family string, labels []string) *dto.Metric {
	f := s.Families[family]
	if f == nil {
		return nil
	}
	want := map[string]string{}
	for i := 0; i+1 < len(labels); i += 2 {
		if labels[i+1] != "" {
			want[labels[i]] = labels[i+1]
		}
	}
	for _, m := range f.Metric {
		match, n := true, 0
		for _, l := range m.Label {
			if l.GetValue() == "" {
				continue
			}
			n++
			if want[l.GetName()] != l.GetValue() {
				match = false
				break
			}
		}
		if match && n == len(want) {
			return m
		}
	}
	return nil
}

// Series returns the number of series of family (0 when absent).
func (s *Scraped) Series(family string) int {
	if f := s.Families[family]; f != nil {
		return len(f.Metric)
	}
	return 0
}

// Total returns the number of series of every family.
func (s *Scraped) Total() int {
	n := 0
	for _, f := range s.Families {
		n += len(f.Metric)
	}
	return n
}

// Names returns the families' names, sorted.
func (s *Scraped) Names() []string {
	out := make([]string, 0, len(s.Families))
	for n := range s.Families {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// LabelValues returns the values label takes in the series of family,
// sorted, each once.
func (s *Scraped) LabelValues(family, label string) []string {
	seen := map[string]bool{}
	if f := s.Families[family]; f != nil {
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == label {
					seen[l.GetValue()] = true
				}
			}
		}
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}

// String describes a series' labels and value, for failure messages.
func (s *Scraped) String(family string) string {
	var b strings.Builder
	if f := s.Families[family]; f != nil {
		for _, m := range f.Metric {
			b.WriteString(family + "{")
			for i, l := range m.Label {
				if i > 0 {
					b.WriteByte(',')
				}
				b.WriteString(l.GetName() + "=" + strconv.Quote(l.GetValue()))
			}
			b.WriteString("} ")
			v, _ := s.Value(family, labelPairs(m)...)
			b.WriteString(strconv.FormatFloat(v, 'g', -1, 64) + "\n")
		}
	}
	return b.String()
}

func labelPairs(m *dto.Metric) []string {
	var out []string
	for _, l := range m.Label {
		out = append(out, l.GetName(), l.GetValue())
	}
	return out
}
