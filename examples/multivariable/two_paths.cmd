solve "z = x^2*y; x = cos(t); y = exp(t)"
