"""Image models: the key-image data set and CNNs from key images to topics (see docs/images.md)."""
