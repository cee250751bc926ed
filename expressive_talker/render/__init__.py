"""Offscreen rendering of the face rig and MP4 encoding.

Import ``renderer`` lazily: it chooses the OpenGL platform (see ``gl``) when first imported.
"""
