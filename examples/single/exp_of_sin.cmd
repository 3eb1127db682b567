solve "exp(sin(x))"
