"""USB serial device discovery: scanning, probing, the four-phase run, approval."""
