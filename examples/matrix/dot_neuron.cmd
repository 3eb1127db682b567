solve 'L = dot(w, x) + b' --shapes 'x: 2, w: 2, b: 1' --wrt w,x,b --at 'x=[1.0, 2.0], w=[2.0, -1.0], b=[0.5]'
