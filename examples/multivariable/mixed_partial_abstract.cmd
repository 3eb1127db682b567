solve "z = f(u, v); u = x*y; v = x + y" --wrt x,y --order 2
