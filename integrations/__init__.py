"""What leaves the box: MQTT publishing settings (the publisher itself comes later)."""
