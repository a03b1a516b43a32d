"""Identity: resident ID numbers (GB 11643), phones, travel documents; sealing and masking."""
