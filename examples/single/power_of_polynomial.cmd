solve "(3x^2+1)^5"
