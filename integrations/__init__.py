"""What leaves the box: MQTT publishing with Home Assistant discovery, notification channels."""
