solve "z = p*q; p = u + v; q = u*v; u = x^2; v = exp(x)"
