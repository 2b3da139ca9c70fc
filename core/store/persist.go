package store

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"time"

	"github.com/VictoriaMetrics/fastcache"
)

// stateFile holds, inside the saved cache directory, what fastcache does
// not save: the namespaces' generations and extensions (the proxy cache's
// purge marks). Saved data without it is never loaded, since entries
// purged before the save could otherwise come back.
const stateFile = "moongate-state.json"

// stateVersion 2 keeps each namespace's extension as its owner wrote it;
// version 1 (the purge marks as fields of the store's own) is refused,
// and such a cache starts empty.
const stateVersion = 2

type savedState struct {
	Version    int              `json:"version"`
	SavedAt    time.Time        `json:"saved_at"`
	MaxBytes   int              `json:"max_bytes"`
	Namespaces []savedNamespace `json:"namespaces"`
}

type savedNamespace struct {
	Name       string          `json:"name"`
	Generation uint64          `json:"generation"`
	Extension  json.RawMessage `json:"extension,omitempty"`
}

// Open returns a cache of maxBytes (at least MinSize) persisted in file, a
// directory that Save writes. When file holds a cache of the same size
// saved by Save, its entries, generations and extensions are loaded;
// otherwise the cache starts empty, and the error says why when there was
// something to load (the caller logs it and goes on: a cache is never
// worth refusing to start).
//
// A load consumes the saved state: if the process then ends without Save
// (a crash), the next start is empty rather than serving entries purged
// in between.
func Open(file string, maxBytes int) (*Store, error) {
	maxBytes = max(maxBytes, MinSize)
	c := New(maxBytes)
	c.file = file
	if file == "" {
		return c, nil
	}
	data, err := os.ReadFile(filepath.Join(file, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		if _, err := os.Stat(file); err == nil {
			return c, errors.New("cache file " + file + " has no saved state (the last run did not stop cleanly): starting empty")
		}
		return c, nil
	}
	if err != nil {
		return c, errors.New("cannot read the saved cache: " + err.Error() + ": starting empty")
	}
	var st savedState
	if err := json.Unmarshal(data, &st); err != nil || st.Version != stateVersion {
		return c, errors.New("cache file " + file + " holds an unknown state format: starting empty")
	}
	if st.MaxBytes != maxBytes {
		return c, errors.New("cache file " + file + " was saved with another cache size: starting empty")
	}
	fc, err := fastcache.LoadFromFileMaxBytes(file, maxBytes)
	if err != nil {
		return c, errors.New("cannot load the saved cache: " + err.Error() + ": starting empty")
	}
	c.fc.Reset()
	c.fc = fc
	for _, sn := range st.Namespaces {
		ns := c.Namespace(sn.Name)
		ns.gen.Store(sn.Generation)
		ns.saved = sn.Extension
	}
	c.loaded = true
	if err := os.Remove(filepath.Join(file, stateFile)); err != nil {
		return c, errors.New("cannot consume the saved cache state: " + err.Error())
	}
	return c, nil
}

// File returns the persistence file given to Open, "" for none.
func (c *Store) File() string { return c.file }

// Save writes the cache's entries, its namespaces' generations and their
// extensions to the file given to Open (nothing to do without one). It
// may run while the cache is in use; entries set meanwhile may or may not
// be saved. The generations and extensions are read after the entries,
// so that a purge made during the save is never undone by the next load.
func (c *Store) Save() error {
	if c.file == "" {
		return nil
	}
	if err := c.fc.SaveToFileConcurrent(c.file, runtime.GOMAXPROCS(0)); err != nil {
		return err
	}
	st := savedState{Version: stateVersion, SavedAt: time.Now(), MaxBytes: c.maxBytes}
	c.mu.Lock()
	for name, ns := range c.namespaces {
		ext, err := ns.extensionState()
		if err != nil {
			c.mu.Unlock()
			return errors.New("namespace " + name + ": " + err.Error())
		}
		st.Namespaces = append(st.Namespaces, savedNamespace{Name: name, Generation: ns.gen.Load(), Extension: ext})
	}
	c.mu.Unlock()
	data, err := json.Marshal(st)
	if err != nil {
		return err
	}
	tmp := filepath.Join(c.file, stateFile+".tmp")
	if err := os.WriteFile(tmp, data, 0o600); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(c.file, stateFile))
}
