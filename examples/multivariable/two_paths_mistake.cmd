verify "z = x^2*y; x = cos(t); y = exp(t)" --answer "-2*cos(t)*sin(t)*exp(t)"
