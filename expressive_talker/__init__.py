"""expressive-talker: text-guided, audio-driven 3D facial animation."""

from ._torch_compat import install_import_hook

__version__ = "0.1.0"

# Whatever imports torchvision later (open_clip, transformers, timm) gets the CPU fix first.
install_import_hook()
