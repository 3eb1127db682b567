solve "sigmoid(x)"
