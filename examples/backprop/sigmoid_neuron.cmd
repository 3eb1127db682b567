solve 'L = (sigmoid(w*x + b) - y)^2' --at w=0.5,x=1.5,b=0.1,y=1 --graph elementary
