verify "sin(x^2)" --answer "cos(x^2)"
