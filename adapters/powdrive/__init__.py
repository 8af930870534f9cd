"""Powdrive / Deye-family hybrid inverters: register maps and driver."""
