"""Online serving: the BentoML service and the local deployer that runs it."""
