package core

// Typed fast paths: handlers of these shapes run without reflect.Call. The
// argument types are still checked on each message by a type assertion; a
// mismatch falls back to the reflect path, which converts or reports
// ErrBadArgs.

// fastPath returns a typed invoker for fn, or nil.
func fastPath(fn any, slow invoker) invoker {
	if f, ok := fn.(func(*Context, []any) ([]any, error)); ok {
		return f
	}
	for _, try := range []func(any, invoker) invoker{fastNoArg, fastInt, fastString, fastAny} {
		if inv := try(fn, slow); inv != nil {
			return inv
		}
	}
	return nil
}

func fastNoArg(fn any, slow invoker) invoker {
	switch f := fn.(type) {
	case func():
		return func(c *Context, a []any) ([]any, error) {
			if len(a) != 0 {
				return slow(c, a)
			}
			f()
			return nil, nil
		}
	case func() error:
		return func(c *Context, a []any) ([]any, error) {
			if len(a) != 0 {
				return slow(c, a)
			}
			return nil, f()
		}
	case func(*Context):
		return func(c *Context, a []any) ([]any, error) {
			if len(a) != 0 {
				return slow(c, a)
			}
			f(c)
			return nil, nil
		}
	case func(*Context) error:
		return func(c *Context, a []any) ([]any, error) {
			if len(a) != 0 {
				return slow(c, a)
			}
			return nil, f(c)
		}
	}
	return nil
}

func fastInt(fn any, slow invoker) invoker {
	if f, ok := fn.(func(int)); ok {
		return oneVoid(f, slow) // the commonest stream handler: one call less per message
	}
	if body := intBody(fn); body != nil {
		return one(body, slow)
	}
	switch f := fn.(type) {
	case func(int, int) int:
		return two(func(_ *Context, x, y int) ([]any, error) { return []any{f(x, y)}, nil }, slow)
	case func(int, int) (int, error):
		return two(func(_ *Context, x, y int) ([]any, error) { return pair(f(x, y)) }, slow)
	}
	return nil
}

// intBody returns the typed body of a handler whose only argument is an
// int, or nil: the fast path for boxed ints and the unboxed one of SendInt.
func intBody(fn any) func(*Context, int) ([]any, error) {
	switch f := fn.(type) {
	case func(int):
		return func(_ *Context, x int) ([]any, error) { f(x); return nil, nil }
	case func(int) int:
		return func(_ *Context, x int) ([]any, error) { return []any{f(x)}, nil }
	case func(int) error:
		return func(_ *Context, x int) ([]any, error) { return nil, f(x) }
	case func(int) (int, error):
		return func(_ *Context, x int) ([]any, error) { return pair(f(x)) }
	case func(*Context, int):
		return func(c *Context, x int) ([]any, error) { f(c, x); return nil, nil }
	case func(*Context, int) int:
		return func(c *Context, x int) ([]any, error) { return []any{f(c, x)}, nil }
	case func(*Context, int) error:
		return func(c *Context, x int) ([]any, error) { return nil, f(c, x) }
	}
	return nil
}

func fastString(fn any, slow invoker) invoker {
	if f, ok := fn.(func(string)); ok {
		return oneVoid(f, slow)
	}
	if body := stringBody(fn); body != nil {
		return one(body, slow)
	}
	if f, ok := fn.(func(string, string) string); ok {
		return two(func(_ *Context, x, y string) ([]any, error) { return []any{f(x, y)}, nil }, slow)
	}
	return nil
}

// stringBody is intBody for a handler whose only argument is a string.
func stringBody(fn any) func(*Context, string) ([]any, error) {
	switch f := fn.(type) {
	case func(string):
		return func(_ *Context, x string) ([]any, error) { f(x); return nil, nil }
	case func(string) string:
		return func(_ *Context, x string) ([]any, error) { return []any{f(x)}, nil }
	case func(string) error:
		return func(_ *Context, x string) ([]any, error) { return nil, f(x) }
	case func(string) (string, error):
		return func(_ *Context, x string) ([]any, error) { return pair(f(x)) }
	case func(*Context, string):
		return func(c *Context, x string) ([]any, error) { f(c, x); return nil, nil }
	case func(*Context, string) string:
		return func(c *Context, x string) ([]any, error) { return []any{f(c, x)}, nil }
	case func(*Context, string) (string, error):
		return func(c *Context, x string) ([]any, error) { return pair(f(c, x)) }
	}
	return nil
}

func fastAny(fn any, slow invoker) invoker {
	switch f := fn.(type) {
	case func(any):
		return one(func(_ *Context, x any) ([]any, error) { f(x); return nil, nil }, slow)
	case func(any) any:
		return one(func(_ *Context, x any) ([]any, error) { return []any{f(x)}, nil }, slow)
	case func(any) (any, error):
		return one(func(_ *Context, x any) ([]any, error) { return pair(f(x)) }, slow)
	case func(*Context, any):
		return one(func(c *Context, x any) ([]any, error) { f(c, x); return nil, nil }, slow)
	case func(*Context, any) (any, error):
		return one(func(c *Context, x any) ([]any, error) { return pair(f(c, x)) }, slow)
	}
	return nil
}

// one adapts a one-argument typed body, falling back to slow on mismatch.
func one[A any](body func(*Context, A) ([]any, error), slow invoker) invoker {
	return func(c *Context, a []any) ([]any, error) {
		if len(a) == 1 {
			if x, ok := a[0].(A); ok {
				return body(c, x)
			}
		}
		return slow(c, a)
	}
}

// oneVoid adapts a one-argument handler without results directly, without
// a typed body in between.
func oneVoid[A any](f func(A), slow invoker) invoker {
	return func(c *Context, a []any) ([]any, error) {
		if len(a) == 1 {
			if x, ok := a[0].(A); ok {
				f(x)
				return nil, nil
			}
		}
		return slow(c, a)
	}
}

// two adapts a two-argument typed body, falling back to slow on mismatch.
func two[A, B any](body func(*Context, A, B) ([]any, error), slow invoker) invoker {
	return func(c *Context, a []any) ([]any, error) {
		if len(a) == 2 {
			x, ok1 := a[0].(A)
			y, ok2 := a[1].(B)
			if ok1 && ok2 {
				return body(c, x, y)
			}
		}
		return slow(c, a)
	}
}

// pair turns (value, error) into a reply; an error reply carries no values.
func pair[R any](r R, err error) ([]any, error) {
	if err != nil {
		return nil, err
	}
	return []any{r}, nil
}
