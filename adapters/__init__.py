"""Device protocols: transports, drivers, register maps, readings and simulators.

This package is the ground floor of solarmon. It must never import Django, so that
drivers can be used and tested on their own.
"""
