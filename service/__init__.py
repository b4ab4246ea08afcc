"""The reference concert-booking service that the lab puts under load."""
