solve "sin(x^2)" --order 2
