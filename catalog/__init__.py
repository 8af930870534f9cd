"""The installation's hierarchy: systems, arrays, devices, adapters and attachments."""
