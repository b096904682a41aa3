package invalidation

import "context"

// SetBeforeConnect makes l call f before each connection attempt, which
// fails with f's error: tests hold a listener down while they write. Call
// it before Run or Start.
func SetBeforeConnect(l *Listener, f func(context.Context) error) { l.beforeConnect = f }
