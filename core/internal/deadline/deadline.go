package deadline

import "time"

// MaxSlack bounds how late a deadline set by Lazy may fire.
const MaxSlack = time.Second

// Lazy is the deadline set on one direction (read or write) of a
// connection, for one goroutine at a time. The zero Lazy knows of no
// deadline: its first Next sets one.
type Lazy struct {
	set   time.Time // the deadline the socket has
	known bool      // set is what the socket has
}

// Next returns the deadline to set on the socket for a caller asking for
// t (the zero time: none), which is left from now, and false when the
// socket's deadline already does: it is no earlier than t and at most
// t's slack later (1/32 of left, at most MaxSlack). A deadline set is t
// plus that slack, so that the next requests' deadlines, a little later
// each, find it set. Callers know left (a timeout) without reading the
// clock.
func (l *Lazy) Next(t time.Time, left time.Duration) (time.Time, bool) {
	if t.IsZero() {
		if l.known && l.set.IsZero() {
			return t, false
		}
		l.set, l.known = t, true
		return t, true
	}
	slack := max(min(left/32, MaxSlack), 0)
	if l.known {
		// A zero set (no deadline) is long before t: set.
		if d := l.set.Sub(t); d >= 0 && d <= slack {
			return l.set, false
		}
	}
	l.set, l.known = t.Add(slack), true
	return l.set, true
}

// Update sets with set the deadline Next returns for t, when there is
// one to set, and forgets the socket's deadline when set fails.
func (l *Lazy) Update(t time.Time, left time.Duration, set func(time.Time) error) error {
	d, ok := l.Next(t, left)
	if !ok {
		return nil
	}
	if err := set(d); err != nil {
		l.Forget()
		return err
	}
	return nil
}

// Set records that the socket's deadline was set to t, exactly, some
// other way.
func (l *Lazy) Set(t time.Time) { l.set, l.known = t, true }

// Forget records that the socket's deadline is not known (a call that
// set it failed): the next Next sets it.
func (l *Lazy) Forget() { l.known = false }
