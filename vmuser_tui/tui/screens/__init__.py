"""One screen per module; :mod:`.base` holds what they share."""
