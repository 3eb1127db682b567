solve "z = x*y; y = x^2"
