"""The citizens' front door: keyless reports with photos, "me too", public stories, e-mail."""
