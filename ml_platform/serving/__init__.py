"""Online serving: the BentoML service and the local deployer that runs it."""

BENTO_NAME = "flight_delay"  # the service's name, so its bentos' name in the store
