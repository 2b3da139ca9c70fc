package store

import "encoding/json"

// Extension is state that the owner of a namespace keeps beside its
// entries: the proxy cache keeps its purge marks so. It lives in the
// store rather than in its owner so that it lasts as long as the entries
// it concerns: across reloads, which rebuild the owner, and across
// restarts with a [cache] file, since Save writes it and Open hands it
// back to the owner.
type Extension interface {
	// Len returns the number of records the extension holds, reported in
	// Stats as the namespace's marks.
	Len() int
	// Save returns the extension's state as JSON, to be given back to
	// the namespace's next owner after a restart; nil for none. Store.Save
	// calls it while the namespace may be in use.
	Save() (json.RawMessage, error)
}

// Extension returns the namespace's extension, made on first use by load
// from the state a previous process saved (nil when there is none). Later
// calls return the same extension without calling load: every caller
// must pass the same kind of load function. It is safe for concurrent use.
func (ns *Namespace) Extension(load func(saved json.RawMessage) Extension) Extension {
	ns.extMu.Lock()
	defer ns.extMu.Unlock()
	if ns.ext == nil {
		ns.ext = load(ns.saved)
		ns.saved = nil
	}
	return ns.ext
}

// extensionState returns what Save writes of ns beside its generation:
// its extension's state, or the state loaded at start that no owner took
// (so that a run that does not use the namespace keeps it for the next).
func (ns *Namespace) extensionState() (json.RawMessage, error) {
	ns.extMu.Lock()
	ext, saved := ns.ext, ns.saved
	ns.extMu.Unlock()
	if ext == nil {
		return saved, nil
	}
	return ext.Save()
}

// extensionLen returns the number of records of the extension, 0 without one.
func (ns *Namespace) extensionLen() int {
	ns.extMu.Lock()
	ext := ns.ext
	ns.extMu.Unlock()
	if ext == nil {
		return 0
	}
	return ext.Len()
}
