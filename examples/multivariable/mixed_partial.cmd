solve "z = x^2*y^3 + sin(x*y)" --wrt x,y --order 2
