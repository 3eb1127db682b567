solve 'p = sigmoid(dot(w, x) + b); L = -(y*log(p) + (1 - y)*log(1 - p))' --shapes 'x: 2, w: 2, b: 1, y: 1' --wrt w,b --at 'x=[1.5, -0.5], w=[0.4, 0.8], b=[-0.2], y=[1.0]'
