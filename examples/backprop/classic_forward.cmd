solve 'f = (x + y)*z' --at x=-2,y=5,z=-4 --graph elementary --mode forward
