package testenv

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"time"
)

// redisDo sends one command to the Redis (or Sentinel) server at addr over a
// connection of its own, authenticating first when password is set, and
// returns the reply: a string (simple or bulk), an int64, a []any, nil, or
// an error of type respError. It is for set-up and readiness checks, where a
// few dozen lines of RESP keep this package free of a client library's
// pools, retries and logging.
func redisDo(ctx context.Context, addr, password string, args ...string) (any, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	deadline, ok := ctx.Deadline()
	if !ok {
		deadline = time.Now().Add(5 * time.Second)
	}
	_ = conn.SetDeadline(deadline)

	var out []byte
	if password != "" {
		out = appendCommand(out, "AUTH", password)
	}
	out = appendCommand(out, args...)
	if _, err := conn.Write(out); err != nil {
		return nil, err
	}
	r := bufio.NewReader(conn)
	if password != "" {
		if reply, err := readReply(r); err != nil {
			return nil, err
		} else if rerr, ok := reply.(respError); ok {
			return nil, fmt.Errorf("AUTH: %w", rerr)
		}
	}
	reply, err := readReply(r)
	if err != nil {
		return nil, err
	}
	if rerr, ok := reply.(respError); ok {
		return nil, rerr
	}
	return reply, nil
}

// redisString is redisDo for a command whose reply is a string.
func redisString(ctx context.Context, addr, password string, args ...string) (string, error) {
	reply, err := redisDo(ctx, addr, password, args...)
	if err != nil {
		return "", err
	}
	s, ok := reply.(string)
	if !ok {
		return "", fmt.Errorf("%s: reply %v (%T), want a string", args[0], reply, reply)
	}
	return s, nil
}

// respError is an error reply from the server.
type respError string

func (e respError) Error() string { return "redis: " + string(e) }

func appendCommand(b []byte, args ...string) []byte {
	b = append(b, '*')
	b = strconv.AppendInt(b, int64(len(args)), 10)
	b = append(b, "\r\n"...)
	for _, a := range args {
		b = append(b, '$')
		b = strconv.AppendInt(b, int64(len(a)), 10)
		b = append(b, "\r\n"...)
		b = append(b, a...)
		b = append(b, "\r\n"...)
	}
	return b
}

func readReply(r *bufio.Reader) (any, error) {
	line, err := r.ReadString('\n')
	if err != nil {
		return nil, err
	}
	line = strings.TrimSuffix(line, "\r\n")
	if line == "" {
		return nil, errors.New("redis: empty reply line")
	}
	body := line[1:]
	switch line[0] {
	case '+':
		return body, nil
	case '-':
		return respError(body), nil
	case ':':
		return strconv.ParseInt(body, 10, 64)
	case '$':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, fmt.Errorf("redis: bad bulk length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		buf := make([]byte, n+2)
		if _, err := io.ReadFull(r, buf); err != nil {
			return nil, err
		}
		return string(buf[:n]), nil
	case '*':
		n, err := strconv.Atoi(body)
		if err != nil {
			return nil, fmt.Errorf("redis: bad array length %q", body)
		}
		if n < 0 {
			return nil, nil
		}
		items := make([]any, n)
		for i := range items {
			if items[i], err = readReply(r); err != nil {
				return nil, err
			}
		}
		return items, nil
	default:
		return nil, fmt.Errorf("redis: unexpected reply %q", line)
	}
}

// infoField returns field's value from an INFO or CLUSTER INFO reply.
func infoField(info, field string) string {
	for _, line := range strings.Split(info, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), field+":"); ok {
			return v
		}
	}
	return ""
}
