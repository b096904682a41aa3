package file

import "errors"

var (
	// ErrBusy is returned, wrapped with the file and the time waited, when
	// other processes kept the data file for longer than [Options.Timeout].
	ErrBusy = errors.New("file: timed out waiting for the data file")

	// ErrBadTagRecord is returned, wrapped with the tag, for a tag's
	// version or marks record that holds something this store did not
	// write there.
	ErrBadTagRecord = errors.New("file: tag record of another format")
)
