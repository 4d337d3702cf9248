"""An example Flower app: federated softmax regression on digits, aggregated by MPKSA."""
