"""Training the three bundled models on data this machine has."""
