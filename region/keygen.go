package region

import (
	"fmt"
	"reflect"
	"runtime"
	"strings"
)

// FuncKeyGenerator makes the key function of a cached function, from the
// function's namespace and name (dogpile's function_key_generator): the
// returned function turns the arguments of one call into a cache key.
type FuncKeyGenerator func(namespace, fnName string) func(args ...any) string

// DefaultFuncKeyGenerator makes keys like dogpile's:
// "<function name>|<namespace>|<args separated by spaces>", the namespace
// part left out when empty. A scalar argument (number, string, bool) is
// formatted with fmt's %v as a value of its predeclared type (a String
// method is not used: it need not tell values apart); a struct, slice, array or map with %#v, whose
// quoted strings keep {"a b" "c"} apart from {"a" "b c"}. Give arguments
// whose form identifies them (not pointers), or use a [KeyFunc]. With an
// interface argument type, values that print alike share a key (1 and
// "1"), as in dogpile.
func DefaultFuncKeyGenerator(namespace, fnName string) func(args ...any) string {
	prefix := fnName + "|"
	if namespace != "" {
		prefix += namespace + "|"
	}
	return func(args ...any) string {
		var b strings.Builder
		b.WriteString(prefix)
		for i, a := range args {
			if i > 0 {
				b.WriteByte(' ')
			}
			v := reflect.ValueOf(a)
			switch v.Kind() {
			case reflect.Struct, reflect.Slice, reflect.Array, reflect.Map, reflect.Pointer, reflect.Interface:
				fmt.Fprintf(&b, "%#v", a) // quoted strings, typed: unambiguous
			default:
				fmt.Fprint(&b, plainScalar(v, a))
			}
		}
		return b.String()
	}
}

// basicTypes are the predeclared types of the scalar kinds, which have no
// methods.
var basicTypes = map[reflect.Kind]reflect.Type{
	reflect.Bool: reflect.TypeFor[bool](), reflect.String: reflect.TypeFor[string](),
	reflect.Int: reflect.TypeFor[int](), reflect.Int8: reflect.TypeFor[int8](),
	reflect.Int16: reflect.TypeFor[int16](), reflect.Int32: reflect.TypeFor[int32](),
	reflect.Int64: reflect.TypeFor[int64](), reflect.Uint: reflect.TypeFor[uint](),
	reflect.Uint8: reflect.TypeFor[uint8](), reflect.Uint16: reflect.TypeFor[uint16](),
	reflect.Uint32: reflect.TypeFor[uint32](), reflect.Uint64: reflect.TypeFor[uint64](),
	reflect.Uintptr: reflect.TypeFor[uintptr](), reflect.Float32: reflect.TypeFor[float32](),
	reflect.Float64: reflect.TypeFor[float64](), reflect.Complex64: reflect.TypeFor[complex64](),
	reflect.Complex128: reflect.TypeFor[complex128](),
}

// plainScalar returns a scalar argument converted to its predeclared type,
// so that fmt prints its value and not what its String or Error method
// says. Those methods need not tell values apart: a token type whose
// String returns "[redacted]", or an enum whose String returns "unknown"
// for every value it does not name, would give every call the same key,
// and each caller the result cached for another's argument. Arguments of
// predeclared types print as before.
func plainScalar(v reflect.Value, a any) any {
	if t, ok := basicTypes[v.Kind()]; ok && v.Type() != t {
		return v.Convert(t).Interface()
	}
	return a
}

// funcName returns the package-qualified name of fn, as the default key
// generator uses it. Closures get names like "pkg.outer.func1", which depend
// on where they sit in the source: give them a namespace, or a [KeyFunc].
func funcName(fn any) string {
	if f := runtime.FuncForPC(reflect.ValueOf(fn).Pointer()); f != nil {
		return f.Name()
	}
	return fmt.Sprintf("%T", fn)
}
