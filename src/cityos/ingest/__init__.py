"""Getting data in: devices over MQTT and HTTP (IoT Agent style), later GTFS and replays."""
