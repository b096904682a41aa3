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
// part left out when empty, each argument formatted with fmt's %v. Give
// arguments whose %v form identifies them (not pointers), or use a
// [KeyFunc].
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
			fmt.Fprint(&b, a)
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
