solve "x^2 + y^2 = 25" --implicit y --order 2
