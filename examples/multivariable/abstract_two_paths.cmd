solve "z = f(x, y); x = g(t); y = h(t)"
