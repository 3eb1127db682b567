solve 'L = 1/2*(z - y)^2; z = W2*h + b2; h = sigmoid(a); a = W1*x + b1' --at W1=0.5,x=1,b1=0,W2=2,b2=0,y=1 --graph definitions
