solve "x^2 + y^2 = 25" --implicit y --at x=3,y=4
