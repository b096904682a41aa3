package testenv

// Internals the black-box tests reach.

// PID returns the server's process id, or 0 when it is not running.
func (s *server) PID() int {
	if s.proc == nil {
		return 0
	}
	return s.proc.pid()
}

var (
	ExternalRedis         = externalRedis
	ExternalPostgres      = externalPostgres
	ExternalRedisCluster  = externalRedisCluster
	ExternalRedisSentinel = externalRedisSentinel
	ExternalMemcached     = externalMemcached
)

// SweepStaleDirs removes the directories of dead test binaries now.
func SweepStaleDirs() { sweepStaleDirs(baseDir()) }
