"""JK-PB BMS packs on RS485 behind a transparent RS485-to-TCP gateway."""
