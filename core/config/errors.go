package config

import (
	"errors"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// Problem is one thing wrong with a configuration: where it is and why.
type Problem struct {
	File   string // the configuration file
	Line   int    // 1-based line, 0 when unknown
	Column int    // 1-based column, 0 when unknown (syntax errors only)
	Key    string // full key path, e.g. routes[1].plugins[0].config.ttl
	Reason string // what is wrong, lowercase, without the position
	// Snippet shows the offending lines with a caret, for syntax errors.
	Snippet string
}

// Error formats the problem as "file:line: key.path: reason".
func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		b.WriteByte(':')
		b.WriteString(strconv.Itoa(p.Line))
		if p.Column > 0 {
			b.WriteByte(':')
			b.WriteString(strconv.Itoa(p.Column))
		}
	}
	b.WriteString(": ")
	if p.Key != "" {
		b.WriteString(p.Key)
		b.WriteString(": ")
	}
	b.WriteString(p.Reason)
	return b.String()
}

// Problems is every problem found in one configuration. It is returned as
// an error by Load and Parse; use errors.As to get at the list.
type Problems []Problem

// Error prints one problem per line, in file order.
func (ps Problems) Error() string {
	lines := make([]string, 0, len(ps))
	for _, p := range ps {
		s := p.Error()
		if p.Snippet != "" {
			s += "\n" + p.Snippet
		}
		lines = append(lines, s)
	}
	return strings.Join(lines, "\n")
}

func (ps Problems) sorted() Problems {
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Line < ps[j].Line })
	return ps
}

// AsProblems returns the problems inside err, or a single problem holding
// err's text when err is of another kind.
func AsProblems(err error) Problems {
	var ps Problems
	if errors.As(err, &ps) {
		return ps
	}
	var p Problem
	if errors.As(err, &p) {
		return Problems{p}
	}
	return Problems{{Reason: err.Error()}}
}

// AsProblemsOrNil is AsProblems, with nil for a nil error.
func AsProblemsOrNil(err error) Problems {
	if err == nil {
		return nil
	}
	return AsProblems(err)
}

// Dedupe drops problems reported twice (by two layers of checks) and sorts
// the rest by line.
func (ps Problems) Dedupe() Problems {
	seen := map[string]bool{}
	var out Problems
	for _, p := range ps {
		if k := p.Error(); !seen[k] {
			seen[k] = true
			out = append(out, p)
		}
	}
	return out.sorted()
}

// reporter collects problems while a configuration is decoded and checked.
type reporter struct {
	file  string
	lines *lineIndex
	list  Problems
	env   *envValues
}

// add records a problem at key path, located through the line index.
func (r *reporter) add(path, reason string) {
	r.list = append(r.list, Problem{File: r.file, Line: r.lines.line(path), Key: path, Reason: r.env.redact(reason)})
}

// envValues are the values that "${VAR}" references of one file expanded
// to. No problem's reason shows them, whichever check quotes the value it
// refuses: a secret may sit in a URL's credentials, or in the wrong key.
// Plugin tables are expanded when their factories decode them, later
// than the file: the set grows then, under mu.
type envValues struct {
	mu   sync.Mutex
	list []string
}

// add notes a value read from the environment. Values shorter than 4
// bytes are not hidden: they are no secrets, and hiding them would garble
// reasons ("at least 1KB").
func (e *envValues) add(v string) {
	if e == nil || len(v) < 4 {
		return
	}
	e.mu.Lock()
	if !slices.Contains(e.list, v) {
		e.list = append(e.list, v)
	}
	e.mu.Unlock()
}

// redact replaces the values from the environment in reason.
func (e *envValues) redact(reason string) string {
	if e == nil {
		return reason
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, v := range e.list {
		reason = strings.ReplaceAll(reason, v, "[value from the environment]")
	}
	return reason
}

// childPath joins a key path and one key.
func childPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

// indexPath joins a key path and an array index.
func indexPath(path string, i int) string { return path + "[" + strconv.Itoa(i) + "]" }
