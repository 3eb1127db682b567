solve "x^3 + y^3 = 6*x*y" --implicit y --at x=3,y=3
