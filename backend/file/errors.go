package file

import "errors"

// ErrBusy is returned, wrapped with the file and the time waited, when
// other processes kept the data file for longer than [Options.Timeout].
var ErrBusy = errors.New("file: timed out waiting for the data file")
