"""The check at a checkpoint (pure core): a crossing's outcome from the facts."""
