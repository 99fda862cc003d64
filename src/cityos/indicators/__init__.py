"""City indicators: a catalogue (ISO 37120 themes plus what cityos measures itself),
cited reference values, and cities side by side."""
