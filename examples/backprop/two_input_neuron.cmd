solve 'f = 1/(1 + exp(-(w0*x0 + w1*x1 + w2)))' --at w0=2,x0=-1,w1=-3,x1=-2,w2=-3 --graph elementary
