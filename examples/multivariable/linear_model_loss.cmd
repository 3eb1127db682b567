solve "L = (w*x + b - y)^2" --wrt w,b
