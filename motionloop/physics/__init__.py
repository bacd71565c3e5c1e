"""Physics correction: the MuJoCo humanoid, the tracking controller, physics metrics."""
