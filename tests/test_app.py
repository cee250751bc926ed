"""The Gradio app served for real on loopback and called through gradio_client."""

import socket

import numpy as np
import pytest
from PIL import Image


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def client():
    from gradio_client import Client

    from expressive_talker.ui import build_app

    demo = build_app()
    demo.queue()
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, ssr_mode=False, quiet=True)
    try:
        yield Client(f"http://127.0.0.1:{port}/", verbose=False)
    finally:
        demo.close()


def test_face_rig_preset_renders_the_emotion(client):
    neutral = client.predict("neutral", 1.0, api_name="/face_rig_preset")
    happy = client.predict("happy", 1.0, api_name="/face_rig_preset")
    assert len(happy) == 53  # 52 slider values, then the image
    from expressive_talker.face.rig import INDEX

    assert happy[INDEX["mouthSmileLeft"]] > 0.5 and neutral[INDEX["mouthSmileLeft"]] == 0
    a, b = (np.asarray(Image.open(r[-1]).convert("RGB"), dtype=int) for r in (neutral, happy))
    assert a.shape == (512, 512, 3)
    assert np.abs(a - b).mean() > 0.5  # the smile shows in the picture
