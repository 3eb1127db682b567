solve "z = f(u1, u2); u1 = g1(x1, x2); u2 = g2(x1, x2)" --wrt x1,x2
