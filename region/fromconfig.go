package region

import (
	"fmt"
	"strings"
	"time"

	"github.com/dogpile-go/dogpile/backend"
)

// ConfigureFromConfig configures the region from a flat configuration map,
// reading the keys that start with prefix (dogpile's configure_from_config):
//
//	prefix + "backend"                  the registered backend name (required)
//	prefix + "expiration_time"          seconds, or a Go duration such as "5m"; "-1" for none
//	prefix + "arguments.<name>"         each backend argument
//	prefix + "store_ttl"                seconds or a Go duration
//	prefix + "replace_existing_backend" true to replace a configured backend
//	prefix + "fail_on_backend_error"    true to fail calls when the backend fails
//
// Values may be strings, as they come from files and environments. A key
// under prefix that is not one of these is an error, so a misspelling is
// reported rather than ignored.
//
//	conf := map[string]any{
//		"cache.local.backend":              "memory",
//		"cache.local.expiration_time":      "60",
//		"cache.local.arguments.max_entries": "10000",
//	}
//	err := local.ConfigureFromConfig(conf, "cache.local.")
func (r *Region) ConfigureFromConfig(conf map[string]any, prefix string) error {
	cfg := Config{Arguments: backend.Arguments{}}
	args := backend.Arguments{}
	for k, v := range conf {
		if !strings.HasPrefix(k, prefix) {
			continue
		}
		name := strings.TrimPrefix(k, prefix)
		if arg, ok := strings.CutPrefix(name, "arguments."); ok {
			cfg.Arguments[arg] = v
			continue
		}
		args[name] = v
	}
	if err := args.Only("backend", "expiration_time", "store_ttl", "replace_existing_backend", "fail_on_backend_error"); err != nil {
		return fmt.Errorf("region %q: %w", r.name, err)
	}
	var err error
	if cfg.BackendName, err = args.String("backend", ""); err != nil {
		return fmt.Errorf("region %q: %w", r.name, err)
	}
	if cfg.BackendName == "" {
		return fmt.Errorf("region %q: %w: %q is missing", r.name, ErrBadConfig, prefix+"backend")
	}
	if cfg.Expiration, err = args.Duration("expiration_time", 0); err != nil {
		return fmt.Errorf("region %q: %w", r.name, err)
	}
	switch {
	case cfg.Expiration == -time.Second:
		cfg.Expiration = NoExpiration
	case cfg.Expiration < 0:
		return fmt.Errorf("region %q: %w: %q is %v; use -1 for no expiration", r.name, ErrBadConfig, prefix+"expiration_time", args["expiration_time"])
	}
	if cfg.StoreTTL, err = args.Duration("store_ttl", 0); err != nil {
		return fmt.Errorf("region %q: %w", r.name, err)
	}
	if cfg.StoreTTL < 0 {
		return fmt.Errorf("region %q: %w: %q is %v, must not be negative", r.name, ErrBadConfig, prefix+"store_ttl", args["store_ttl"])
	}
	if cfg.ReplaceExisting, err = args.Bool("replace_existing_backend", false); err != nil {
		return fmt.Errorf("region %q: %w", r.name, err)
	}
	if cfg.FailOnBackendError, err = args.Bool("fail_on_backend_error", false); err != nil {
		return fmt.Errorf("region %q: %w", r.name, err)
	}
	return r.Configure(cfg)
}
