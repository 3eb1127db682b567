solve "V = 4/3*pi*r^3" --rates "r: dr/dt = 2 cm/s" --at r=5cm
