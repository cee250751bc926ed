"""Build and launch the Gradio app: Generate, Live, Interpolate, Compare, Face rig, Vote, Results and About tabs."""

from __future__ import annotations

from .offline import go_offline

go_offline()

import os  # noqa: E402

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402

from ..live.server import LiveHub, live_routes  # noqa: E402
from .about_tab import build_about_tab  # noqa: E402
from .compare_tab import build_compare_tab  # noqa: E402
from .face_rig_tab import build_face_rig_tab  # noqa: E402
from .generate_tab import build_generate_tab  # noqa: E402
from .interpolate_tab import build_interpolate_tab  # noqa: E402
from .jobs import Jobs, Settings  # noqa: E402
from .live_tab import build_live_tab  # noqa: E402
from .page import install_page_fixes  # noqa: E402
from .refusals import PlainRefusals  # noqa: E402
from .study_tab import StudyBackend, build_results_tab, build_vote_tab  # noqa: E402

TITLE = "expressive-talker"
STILL_SIZE = 512


def build_app(settings: Settings | None = None) -> gr.Blocks:
    jobs = Jobs(settings)
    settings = jobs.settings
    # Gradio reads its examples cache folder from the environment when it caches (never the code folder).
    os.environ["GRADIO_EXAMPLES_CACHE"] = settings.examples_cache

    def render_still(weights: np.ndarray, head_rotation=None) -> np.ndarray:
        from ..face.rig import load_rig

        weights = np.clip(np.asarray(weights, dtype=np.float32), 0.0, 1.0)
        return jobs.renderers.get(STILL_SIZE).render(load_rig().pose(weights), weights, head_rotation)

    # Gradio's own copies of inputs and outputs are dropped after the same time as ours.
    ttl = int(settings.output_ttl_s)
    with PlainRefusals(title=TITLE, delete_cache=(max(60, ttl // 4), ttl)) as demo:
        gr.Markdown(f"# {TITLE}\nText-guided, audio-driven 3D facial animation: speech in, a talking face with the expression you describe out.")
        with gr.Tab("Generate"):
            build_generate_tab(jobs)
        with gr.Tab("Live"):
            build_live_tab(jobs)
        with gr.Tab("Interpolate"):
            build_interpolate_tab(jobs)
        with gr.Tab("Compare"):
            build_compare_tab(jobs)
        with gr.Tab("Face rig"):
            sliders, image = build_face_rig_tab(render_still)
        study = StudyBackend(settings, jobs.lane)
        with gr.Tab("Vote"):
            resume = build_vote_tab(study)
        with gr.Tab("Results"):
            results_status = build_results_tab(study)
        with gr.Tab("About"):
            build_about_tab(settings.weights_dir)
        install_page_fixes()
        demo.load(lambda: render_still(np.zeros(len(sliders), np.float32)), None, image, api_name=False)
        demo.load(**resume)
        demo.load(**results_status)
    study.start()  # the default study's videos, in the background, when no study is prepared
    demo.settings = settings  # read by launch() for the queue and upload limits
    demo.jobs = jobs
    demo.study = study
    demo.live = LiveHub(settings.live_streams, settings.weights_dir, jobs.outputs.new_job)
    return demo




def queue(demo: gr.Blocks) -> gr.Blocks:
    """The queue. Gradio's size limit counts every waiting call, so it is off: the app caps the
    video backlog itself (``settings.queue_size``, see ``VideoLane``), and study calls have their
    own lane that videos never fill."""
    return demo.queue(default_concurrency_limit=demo.settings.concurrency, max_size=None)


def app_kwargs(demo: gr.Blocks) -> dict:
    """What ``demo.launch(app_kwargs=...)`` adds to Gradio's server, on the page's own origin:
    the study's video route and the live route (``/live``, a WebSocket, and its take files)."""
    return {"routes": [*demo.study.routes(), *live_routes(demo.live)]}


def launch(settings: Settings | None = None, **kwargs):
    """Start the app: 127.0.0.1:7860 unless GRADIO_SERVER_NAME / GRADIO_SERVER_PORT say otherwise."""
    import logging
    import threading

    # The operator's log (a Space's "Logs" tab): our INFO lines, e.g. how long the warm-up took.
    package_log = logging.getLogger("expressive_talker")
    if not package_log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
        package_log.addHandler(handler)
        package_log.setLevel(logging.INFO)
    demo = queue(build_app(settings))
    # Models, encoders and renderers load in the background while the server starts, so the first
    # visitor does not pay for them.
    threading.Thread(target=demo.jobs.warm_up, name="warm-up", daemon=True).start()
    kwargs.setdefault("server_name", os.environ.get("GRADIO_SERVER_NAME", "127.0.0.1"))
    kwargs.setdefault("server_port", int(os.environ.get("GRADIO_SERVER_PORT", "7860")))
    kwargs.setdefault("ssr_mode", False)
    kwargs.setdefault("max_file_size", f"{demo.settings.max_upload_mb:g}mb")
    # The videos a request makes and the examples' cached ones are served from the state folder.
    kwargs.setdefault("allowed_paths", [demo.settings.output_dir, demo.settings.examples_cache])
    kwargs.setdefault("app_kwargs", app_kwargs(demo))
    return demo.launch(**kwargs)
