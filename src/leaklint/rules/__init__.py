"""One module per rule (or small family); each registers its class with ``@register``."""
