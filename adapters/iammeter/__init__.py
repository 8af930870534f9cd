"""IAMMeter WEM3080 / WEM3080T energy meters: register maps and driver."""
