verify "x^2 + y^2 = 25" --implicit y --answer "-x/sqrt(25 - x^2)"
