"""Hugging Face Space entry point: the expressive-talker Gradio app."""

from expressive_talker.ui import launch

if __name__ == "__main__":
    launch()
