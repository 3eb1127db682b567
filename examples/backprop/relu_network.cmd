solve 'L = (z - y)^2; z = v1*h1 + v2*h2; h1 = relu(w1*x + c1); h2 = relu(w2*x + c2)' --at w1=1,c1=-1,w2=-1,c2=1,v1=3,v2=2,x=2,y=1 --graph elementary
