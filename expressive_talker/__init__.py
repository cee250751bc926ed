"""expressive-talker: text-guided, audio-driven 3D facial animation."""

__version__ = "0.1.0"
