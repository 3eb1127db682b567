solve "z = x^2 + y^3" --at x=2,y=3
