solve "x^2 + y^2 = 10^2" --rates "dx/dt = 1" --at x=6
