"""JK BMS frame layouts, checksums and parsing shared by the TCP gateway and BLE drivers."""
