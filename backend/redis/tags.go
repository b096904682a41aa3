package redis

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/dogpile-go/dogpile/backend"
)

// A tag's state lives in two keys that share a Cluster hash slot (the tag
// in braces): its version, a decimal integer, and its pending marks, a
// sorted set of owners scored by the Unix millisecond their lease ends.
//
// A version the server does not have (never written, evicted, flushed) is
// started at the server's time in nanoseconds (microseconds × 1000, built
// as a string so Lua's doubles lose nothing), and every bump adds one. An
// entry holds a version from an earlier start plus at most one per bump
// since, and bumps cannot outrun the clock a thousand to a microsecond, so
// a restarted version is one no entry holds.
func (s *Store) versionKey(tag string) string { return s.tagKey(tag, "v") }
func (s *Store) pendingKey(tag string) string { return s.tagKey(tag, "p") }

// tagKey names one of a tag's two keys, which a Cluster must keep in one
// slot: both hash by the key's hash tag, the text between its first "{"
// and the next "}". For a tag that is empty or begins with "}" that text
// would be empty, which a Cluster does not count as a hash tag (each key
// would hash whole, to a slot of its own), so such tags get keys of a
// second form whose hash tag is never empty.
func (s *Store) tagKey(tag, kind string) string {
	if tag == "" || tag[0] == '}' {
		return s.o.KeyPrefix + "tag_:{_" + tag + "}:" + kind
	}
	return s.o.KeyPrefix + "tag:{" + tag + "}:" + kind
}

// startVersion is the Lua fragment that gives KEYS[1] a fresh version when
// it has none.
const startVersion = `
if redis.call("EXISTS", KEYS[1]) == 0 then
	local t = redis.call("TIME")
	redis.call("SET", KEYS[1], t[1] .. string.format("%06d", tonumber(t[2])) .. "000")
end
`

var (
	// versionScript returns KEYS[1]'s version, starting it if missing.
	versionScript = goredis.NewScript(startVersion + `return redis.call("GET", KEYS[1])`)
	// bumpScript gives KEYS[1] a new version.
	bumpScript = goredis.NewScript(startVersion + `return redis.call("INCR", KEYS[1])`)
	// markScript adds owner ARGV[1] to KEYS[1]'s marks until ARGV[2] (Unix
	// ms), dropping lapsed marks, and keeps the set alive ARGV[3] ms.
	markScript = goredis.NewScript(`
redis.call("ZREMRANGEBYSCORE", KEYS[1], "-inf", "(" .. ARGV[4])
redis.call("ZADD", KEYS[1], ARGV[2], ARGV[1])
if redis.call("PTTL", KEYS[1]) < tonumber(ARGV[3]) then
	redis.call("PEXPIRE", KEYS[1], ARGV[3])
end
return 1`)
	// releaseScript bumps KEYS[1] when ARGV[2] is "1", then removes owner
	// ARGV[1] from KEYS[2]'s marks: one step, so no reader sees the tag
	// released but not bumped.
	tagReleaseScript = goredis.NewScript(`
if ARGV[2] == "1" then
` + startVersion + `
	redis.call("INCR", KEYS[1])
end
redis.call("ZREM", KEYS[2], ARGV[1])
return 1`)
)

func (s *Store) nowMillis() int64 { return s.o.Clock.Now().UnixMilli() }

// TagStates returns the state of each tag: one round trip (one per node on
// a Cluster), and a second for tags whose version must be started.
func (s *Store) TagStates(ctx context.Context, tags []string) ([]backend.TagState, error) {
	states := make([]backend.TagState, len(tags))
	if len(tags) == 0 {
		return states, nil
	}
	pending := make([]*goredis.IntCmd, len(tags))
	versions := make([]*goredis.StringCmd, len(tags))
	now := strconv.FormatInt(s.nowMillis(), 10)
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		s.queueTagReads(ctx, p, tags, now, pending, versions)
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return nil, err
	}
	return states, s.readTagStates(ctx, tags, pending, versions, states)
}

// queueTagReads queues, per tag, the count of live marks and then the
// version: a writer bumps before it releases, so a reader that sees no mark
// sees the bump.
func (s *Store) queueTagReads(ctx context.Context, p goredis.Pipeliner, tags []string, now string, pending []*goredis.IntCmd, versions []*goredis.StringCmd) {
	for i, tag := range tags {
		pending[i] = p.ZCount(ctx, s.pendingKey(tag), now, "+inf")
		versions[i] = p.Get(ctx, s.versionKey(tag))
	}
}

// readTagStates fills states from queued reads, starting missing versions
// (a tag's first use) in one more round trip for all of them.
func (s *Store) readTagStates(ctx context.Context, tags []string, pending []*goredis.IntCmd, versions []*goredis.StringCmd, states []backend.TagState) error {
	parse := func(i int, raw string) (err error) {
		if states[i].Version, err = strconv.ParseUint(raw, 10, 64); err != nil {
			return fmt.Errorf("redis: tag %q has version %q, not a number: %w", tags[i], raw, err)
		}
		return nil
	}
	var missing []int
	for i := range tags {
		n, err := pending[i].Result()
		if err != nil {
			return err
		}
		states[i].Pending = n > 0
		raw, err := versions[i].Result()
		switch {
		case errors.Is(err, goredis.Nil):
			missing = append(missing, i)
		case err != nil:
			return err
		default:
			if err := parse(i, raw); err != nil {
				return err
			}
		}
	}
	if len(missing) == 0 {
		return nil
	}
	started := make([]*goredis.Cmd, len(missing))
	if _, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for j, i := range missing {
			started[j] = versionScript.Eval(ctx, p, []string{s.versionKey(tags[i])})
		}
		return nil
	}); err != nil {
		return err
	}
	for j, i := range missing {
		raw, err := started[j].Text()
		if err != nil {
			return err
		}
		if err := parse(i, raw); err != nil {
			return err
		}
	}
	return nil
}

// GetTagged reads key and the states of tags in one round trip (one per
// node on a Cluster).
func (s *Store) GetTagged(ctx context.Context, key string, tags []string) (backend.Entry, bool, []backend.TagState, error) {
	return s.getTagged(ctx, key, tags, nil)
}

// getTagged is GetTagged, with more commands about key queued by also
// (when not nil) in the same round trip.
func (s *Store) getTagged(ctx context.Context, key string, tags []string, also func(goredis.Pipeliner)) (backend.Entry, bool, []backend.TagState, error) {
	states := make([]backend.TagState, len(tags))
	pending := make([]*goredis.IntCmd, len(tags))
	versions := make([]*goredis.StringCmd, len(tags))
	now := strconv.FormatInt(s.nowMillis(), 10)
	var get *goredis.StringCmd
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		s.queueTagReads(ctx, p, tags, now, pending, versions)
		get = p.Get(ctx, s.key(key))
		if also != nil {
			also(p)
		}
		return nil
	})
	if err != nil && !errors.Is(err, goredis.Nil) {
		return backend.Entry{}, false, nil, err
	}
	if err := s.readTagStates(ctx, tags, pending, versions, states); err != nil {
		return backend.Entry{}, false, nil, err
	}
	e, ok, err := readEntry(get)
	if err != nil {
		return backend.Entry{}, false, nil, err
	}
	return e, ok, states, nil
}

// BumpTags gives each tag a new version, in one round trip.
func (s *Store) BumpTags(ctx context.Context, tags []string) error {
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, tag := range tags {
			bumpScript.Eval(ctx, p, []string{s.versionKey(tag)})
		}
		return nil
	})
	return err
}

// MarkPending marks tags as held by owner until the lease ends.
func (s *Store) MarkPending(ctx context.Context, tags []string, owner string, lease time.Duration) error {
	now := s.nowMillis()
	end := now + lease.Milliseconds()
	// The set outlives the longest lease a little; never less than that
	// little, or a negative lease would leave it with no TTL at all.
	keep := max(lease.Milliseconds(), 0) + 1000
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, tag := range tags {
			markScript.Eval(ctx, p, []string{s.pendingKey(tag)}, owner, end, keep, now)
		}
		return nil
	})
	return err
}

// ReleasePending removes owner's marks, bumping each tag first when asked,
// one atomic step per tag.
func (s *Store) ReleasePending(ctx context.Context, tags []string, owner string, bump bool) error {
	flag := "0"
	if bump {
		flag = "1"
	}
	_, err := s.rdb.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, tag := range tags {
			tagReleaseScript.Eval(ctx, p, []string{s.versionKey(tag), s.pendingKey(tag)}, owner, flag)
		}
		return nil
	})
	return err
}

var (
	_ backend.TagStore     = (*Store)(nil)
	_ backend.TaggedGetter = (*Store)(nil)
)
