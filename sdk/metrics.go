package sdk

import (
	"strconv"

	"github.com/moongate/moongate/core/plugin"
	lua "github.com/yuin/gopher-lua"
)

// Counter is a counter a script declared in its step's metrics, for
// gw.metrics.inc: Vec counts, Labels are the label names the script may
// give values to, in Vec's order.
type Counter struct {
	Vec    *plugin.CounterVec
	Labels []string
}

func init() {
	addNamespace(&Namespace{Name: "metrics", Doc: "Counters the script declares in its step's `metrics` " +
		"(`metrics = { tenant_requests_total = [\"tenant\"] }`), served on GET /metrics of the admin listener as " +
		"`moongate_script_<name>{script=\"<path>\", <labels>}`. A counter keeps at most 100 series (label " +
		"value combinations); past that, and for a value over 128 bytes or not valid UTF-8, it counts into the " +
		"series whose labels are all \"other\"."},
		&Binding{Name: "inc", Phases: All,
			Doc: "Adds 1 to the declared counter `name`, in the series of the label values given. " +
				"A declared label left out counts as \"\"; values are strings, numbers or booleans. " +
				"An undeclared counter or label is an expected failure: nil and a message, nothing counted.",
			Params: []Param{{"name", "string", "the counter's declared name (tenant_requests_total)"},
				{"labels", "table<string,string|number|boolean>?", "label values by declared label name"}},
			Returns: []Param{{"ok", "boolean?", "true when counted"}, {"err", "string?", "why not"}},
			Example: `local ok, err = gw.metrics.inc("tenant_requests_total", { tenant = tenant })
if not ok then gw.log.warn(err) end`,
			Fn: func(s *State, L *lua.LState) int { return s.metricsInc(L) }},
	)
}

func (s *State) metricsInc(L *lua.LState) int {
	name := L.CheckString(1)
	labels := L.OptTable(2, nil)
	fail := func(msg string) int {
		L.Push(lua.LNil)
		L.Push(lua.LString("gw.metrics.inc: " + msg))
		return 2
	}
	d, ok := s.opts.Metrics[name]
	if !ok {
		return fail("undeclared counter " + strconv.Quote(name) + " (declare it in the step's metrics)")
	}
	vals := s.metricValues[:0]
	for range d.Labels {
		vals = append(vals, "")
	}
	if labels != nil {
		t := s.real(labels)
		for k, v := t.Next(lua.LNil); k != lua.LNil; k, v = t.Next(k) {
			key, ok := k.(lua.LString)
			if !ok {
				return fail("label names are strings, got a " + k.Type().String())
			}
			i := 0
			for i < len(d.Labels) && d.Labels[i] != string(key) {
				i++
			}
			if i == len(d.Labels) {
				return fail("label " + strconv.Quote(string(key)) + " is not declared for " + strconv.Quote(name))
			}
			switch x := v.(type) {
			case lua.LString:
				vals[i] = string(x)
			case lua.LNumber:
				vals[i] = x.String()
			case lua.LBool:
				vals[i] = strconv.FormatBool(bool(x))
			default:
				return fail("label " + strconv.Quote(string(key)) + ": a value is a string, number or boolean, got a " + v.Type().String())
			}
		}
	}
	d.Vec.Inc(vals...)
	s.metricValues = vals[:0]
	L.Push(lua.LTrue)
	return 1
}
