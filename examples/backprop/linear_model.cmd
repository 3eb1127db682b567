solve 'L = (w*x + b - y)^2' --at w=2,x=3,b=1,y=10 --graph elementary
