solve "V = pi/3*r^2*h; r = h/2" --rates "h: dh/dt = ?; V: dV/dt = 9 cm^3/min" --at h=6cm
