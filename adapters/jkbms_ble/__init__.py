"""JK-B BMS over Bluetooth Low Energy (bleak); each address is one battery of the pack."""
