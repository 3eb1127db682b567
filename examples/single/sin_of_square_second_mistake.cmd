verify "sin(x^2)" --order 2 --answer "2x*cos(x^2)"
