package gateway

import (
	"io/fs"
	"path/filepath"
	"strconv"
	"time"
)

// watchInterval is how often lua.watch looks for changed scripts.
var watchInterval = 500 * time.Millisecond

// watchScripts reloads the configuration whenever a file under dir
// changes from the state last describes (lua.watch, for development),
// until stop is closed. It polls modification times and sizes rather than
// using inotify: simple, portable, and cheap for a folder of scripts.
func (g *Gateway) watchScripts(dir, last string, stop <-chan struct{}) {
	t := time.NewTicker(watchInterval)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		cur := scanTree(dir)
		if cur == last {
			continue
		}
		last = cur
		g.logger.Info("scripts changed, reloading", "dir", dir)
		g.Reload()
	}
}

// scanTree sums what identifies a folder's state: names, sizes and times.
func scanTree(dir string) string {
	var sig []byte
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return nil
		}
		if info, err := d.Info(); err == nil {
			sig = append(sig, path...)
			sig = append(sig, ' ')
			sig = strconv.AppendInt(sig, info.ModTime().UnixNano(), 10)
			sig = append(sig, ' ')
			sig = strconv.AppendInt(sig, info.Size(), 10)
			sig = append(sig, '\n')
		}
		return nil
	})
	return string(sig)
}
