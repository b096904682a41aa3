package dogpileotel

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/dogpile-go/dogpile/region"
)

// ScopeName is the instrumentation scope of the observer's tracer.
const ScopeName = "github.com/dogpile-go/dogpile/contrib/otel"

// The attributes the observer sets on spans and span events.
const (
	// RegionKey is the region's name.
	RegionKey = attribute.Key("dogpile.region")
	// CacheKeyKey is the cache key, with [KeyRaw].
	CacheKeyKey = attribute.Key("dogpile.key")
	// CacheKeyHashKey is the digest of the cache key, with [KeyHashed].
	CacheKeyHashKey = attribute.Key("dogpile.key_hash")
	// HardKey tells a hard invalidation from a soft one.
	HardKey = attribute.Key("dogpile.hard")
	// RemoteKey marks a lock wait on the backend's lock, for another
	// process's creation.
	RemoteKey = attribute.Key("dogpile.remote")
	// ErrorMessageKey is the error of a failure event
	// (OpenTelemetry's error.message).
	ErrorMessageKey = attribute.Key("error.message")
)

// Span names.
const (
	// CreateSpanName names the span of one creator call.
	CreateSpanName = "dogpile.create"
	// LockWaitSpanName names the span of a wait for another's creation.
	LockWaitSpanName = "dogpile.lock_wait"
)

// Observer is a [region.Observer] that turns a region's events into
// OpenTelemetry spans and span events:
//
//   - a creation (region.EventCreated, region.EventCreateError) becomes a
//     child span of the caller's span, named [CreateSpanName], which starts
//     when the creator was called and ends when it returned; a failed one
//     has status Error and the error recorded;
//   - a lock wait (region.EventLockWait) becomes a child span named
//     [LockWaitSpanName], in the same way, with [RemoteKey] telling a wait
//     on the backend's lock from one in the process;
//   - every other event (hit, miss, stale_served, backend_error,
//     decode_error, async_queued, async_rejected, invalidated, and any kind
//     added later) becomes an event on the caller's span, named "dogpile."
//     and the kind ("dogpile.hit"), when that span is recording.
//
// Spans and events carry the region's name ([RegionKey]) and the key as
// [Options.Keys] says; failures carry the error's message.
//
// The region reports a creation once it is over, so its span is made
// afterwards: it ends when the region reports it, a moment after the
// creator returned, and starts the creator's duration before. Spans the
// creator starts itself are therefore its siblings, children of the
// caller's span, not its children. An async creation's span is a child of
// the span of the caller that found the value stale, which has usually
// ended by then. A multi-key creation (GetOrCreateMulti, cached multi
// functions) is one span, with the first of its keys, as the region
// reports it.
//
// An Observer is safe for concurrent use by multiple goroutines.
type Observer struct {
	tracer trace.Tracer
	keys   KeyMode
	filter func(context.Context, region.Event) bool // nil: all
}

// NewObserver makes an observer; pass it to [region.WithObserver].
func NewObserver(o Options) *Observer {
	tp := o.TracerProvider
	if tp == nil {
		tp = otel.GetTracerProvider()
	}
	return &Observer{tracer: tp.Tracer(ScopeName), keys: o.Keys, filter: o.Filter}
}

// Observe reports e on ctx's span or as a child span of it.
func (o *Observer) Observe(ctx context.Context, e region.Event) {
	if o.filter != nil && !o.filter(ctx, e) {
		return
	}
	switch e.Kind {
	case region.EventCreated, region.EventCreateError:
		o.span(ctx, CreateSpanName, e)
	case region.EventLockWait:
		o.span(ctx, LockWaitSpanName, e)
	default:
		span := trace.SpanFromContext(ctx)
		if !span.IsRecording() {
			return
		}
		attrs := o.attributes(e)
		if e.Err != nil {
			attrs = append(attrs, ErrorMessageKey.String(e.Err.Error()))
		}
		span.AddEvent("dogpile."+e.Kind.String(), trace.WithAttributes(attrs...))
	}
}

// span records a span that ended now and lasted e.Duration.
func (o *Observer) span(ctx context.Context, name string, e region.Event) {
	end := time.Now()
	_, span := o.tracer.Start(ctx, name,
		trace.WithTimestamp(end.Add(-e.Duration)),
		trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(o.attributes(e)...),
	)
	if e.Err != nil {
		span.RecordError(e.Err, trace.WithTimestamp(end))
		span.SetStatus(codes.Error, e.Err.Error())
	}
	span.End(trace.WithTimestamp(end))
}

// attributes returns the attributes every report of e has: region, key,
// whether an invalidation was hard, and whether a lock wait was remote.
func (o *Observer) attributes(e region.Event) []attribute.KeyValue {
	attrs := make([]attribute.KeyValue, 0, 4)
	attrs = append(attrs, RegionKey.String(e.Region))
	if e.Key != "" {
		switch o.keys {
		case KeyRaw:
			attrs = append(attrs, CacheKeyKey.String(e.Key))
		case KeyHashed:
			attrs = append(attrs, CacheKeyHashKey.String(hashKey(e.Key)))
		}
	}
	switch e.Kind {
	case region.EventInvalidated:
		attrs = append(attrs, HardKey.Bool(e.Hard))
	case region.EventLockWait:
		attrs = append(attrs, RemoteKey.Bool(e.Remote))
	}
	return attrs
}

// hashKey returns the first 16 hex digits of key's SHA-256.
func hashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:8])
}

var _ region.Observer = (*Observer)(nil)
