"""Change events: subscriptions, matching and delivery (HTTP, MQTT, Server-Sent Events)."""
