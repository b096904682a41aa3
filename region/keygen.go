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
// formatted with fmt's %v; a struct, slice, array or map with %#v, whose
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
			switch reflect.ValueOf(a).Kind() {
			case reflect.Struct, reflect.Slice, reflect.Array, reflect.Map, reflect.Pointer, reflect.Interface:
				fmt.Fprintf(&b, "%#v", a) // quoted strings, typed: unambiguous
			default:
				fmt.Fprint(&b, a)
			}
		}
		return b.String()
	}
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
