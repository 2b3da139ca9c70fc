package plugin_test

import (
	"reflect"
	"testing"

	"github.com/moongate/moongate/core/plugin"
)

// A step removed (cleaned up after a reload) is no longer listed; the
// others stay in the order they were built.
func TestLiveSteps(t *testing.T) {
	var l plugin.LiveSteps[int]
	for i := 1; i <= 4; i++ {
		l.Add(i)
	}
	l.Remove(2)
	l.Remove(7) // never added: nothing happens
	if got := l.Steps(); !reflect.DeepEqual(got, []int{1, 3, 4}) {
		t.Fatalf("Steps() = %v, want [1 3 4]", got)
	}
}
