package cachedsql

import (
	"context"
	"database/sql/driver"
	"reflect"
	"strings"
	"sync"

	"github.com/jmoiron/sqlx/reflectx"
)

// NameMapper turns struct field names into column names when no db tag
// says otherwise, as sqlx.NameMapper (strings.ToLower by default). Set it
// before opening a DB; a DB keeps the mapper it was opened with (see
// [DB.MapperFunc]).
var NameMapper = strings.ToLower

var mapperCache struct {
	mu sync.Mutex
	fn uintptr          // guarded by mu; the NameMapper the mapper was made from
	m  *reflectx.Mapper // guarded by mu
}

// defaultMapper returns the mapper of NameMapper, made again when
// NameMapper changed, as sqlx does.
func defaultMapper() *reflectx.Mapper {
	mapperCache.mu.Lock()
	defer mapperCache.mu.Unlock()
	fn := reflect.ValueOf(NameMapper).Pointer()
	if mapperCache.m == nil || mapperCache.fn != fn {
		mapperCache.m, mapperCache.fn = reflectx.NewMapperFunc("db", NameMapper), fn
	}
	return mapperCache.m
}

// failing is the connector of a DB whose options could not work: every
// connection it is asked for fails with why.
type failing struct{ err error }

func (f failing) Connect(context.Context) (driver.Conn, error) { return nil, f.err }
func (f failing) Driver() driver.Driver                        { return cachingDriver{} }
