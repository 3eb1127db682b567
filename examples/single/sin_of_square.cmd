solve "sin(x^2)"
