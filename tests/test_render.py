import numpy as np
import pytest

from expressive_talker.errors import InputError, RenderError
from expressive_talker.face.rig import INDEX, NUM_BLENDSHAPES, load_rig
from expressive_talker.render.renderer import BACKGROUND, FaceRenderer
from expressive_talker.render.video import Animation, encode_mp4, render_video

from .helpers import probe, read_frame, video_frames, write_tone

BG = np.array(BACKGROUND) * 255


@pytest.fixture(scope="module")
def renderer():
    r = FaceRenderer(256)
    yield r
    r.close()


def weights(**values):
    w = np.zeros(NUM_BLENDSHAPES, np.float32)
    for name, value in values.items():
        w[INDEX[name]] = value
    return w


def mouth_box(image):
    # Where the mouth sits in the default framing (found on the neutral render).
    h, w, _ = image.shape
    return image[int(0.60 * h) : int(0.80 * h), int(0.38 * w) : int(0.62 * w)].reshape(-1, 3).astype(int)


def test_renders_a_lit_face(renderer):
    rig = renderer.rig
    image = renderer.render(rig.neutral, np.zeros(52))
    assert image.shape == (256, 256, 3) and image.dtype == np.uint8
    face = np.abs(image.astype(float) - BG).sum(axis=2) > 30
    assert 0.2 < face.mean() < 0.8  # the head fills the middle of the frame
    centre = image[96:160, 96:160].astype(float)
    assert centre.mean() > 100  # lit, not a black silhouette
    assert centre[..., 0].mean() > centre[..., 2].mean()  # skin is warm


def test_open_jaw_shows_teeth_and_a_dark_mouth_not_the_skull(renderer):
    rig = renderer.rig
    closed = mouth_box(renderer.render(rig.neutral, np.zeros(52)))
    w = weights(jawOpen=1.0)
    opened = mouth_box(renderer.render(rig.pose(w), w))
    white = lambda px: ((px.min(axis=1) > 185) & (np.ptp(px, axis=1) < 40)).sum()  # noqa: E731
    # facecap's texture is dark inside the mouth; tinted red it reads as a mouth, not skull skin.
    dark_red = lambda px: ((px[:, 0] > px[:, 1] + 15) & (px.sum(axis=1) < 300)).sum()  # noqa: E731
    assert white(opened) > white(closed) + 20  # teeth appear
    assert dark_red(opened) > dark_red(closed) + 100  # the mouth interior, not skin of the skull


def test_vertices_update_between_frames(renderer):
    rig = renderer.rig
    a = renderer.render(rig.neutral, np.zeros(52))
    w = weights(mouthSmileLeft=1.0, mouthSmileRight=1.0)
    b = renderer.render(rig.pose(w), w)
    c = renderer.render(rig.neutral, np.zeros(52))
    assert np.abs(a.astype(int) - b).sum() > 1000
    assert np.array_equal(a, c)


def test_outline_is_antialiased_and_the_lips_read(renderer):
    rig = renderer.rig
    image = renderer.render(rig.neutral, np.zeros(52))
    distance = np.abs(image.astype(float) - BG).sum(axis=2)
    face = distance > 3
    # Outline pixels blend face and background: several hundred part-covered pixels, not a
    # hard staircase (without the blend there are under a hundred at 256 px).
    partial = face & (distance < 0.5 * np.median(distance[face]))
    assert partial.sum() > 250
    # The lips are redder than the skin around them.
    px = mouth_box(image)
    redness = px[:, 0] - px[:, 1]
    skin = image[int(0.45 * 256) : int(0.5 * 256), int(0.4 * 256) : int(0.6 * 256)].reshape(-1, 3).astype(int)
    assert np.percentile(redness, 95) > (skin[:, 0] - skin[:, 1]).mean() + 25


def test_head_rotation_turns_the_whole_head(renderer):
    rig = renderer.rig
    level = renderer.render(rig.neutral, np.zeros(52))
    assert np.array_equal(level, renderer.render(rig.neutral, np.zeros(52), [0.0, 0.0, 0.0]))
    face = lambda image: np.abs(image.astype(float) - BG).sum(axis=2) > 30  # noqa: E731
    centre_x = lambda image: np.nonzero(face(image))[1].mean()  # noqa: E731
    turned = renderer.render(rig.neutral, np.zeros(52), [0.0, 20.0, 0.0])  # to the face's own left
    # The face turns towards +x, which the camera (looking at the face) sees on the image's right;
    # the ears, teeth and eyes turn with it (no eye is left floating where it was).
    assert centre_x(turned) > centre_x(level) + 2
    down = renderer.render(rig.neutral, np.zeros(52), [15.0, 0.0, 0.0])  # pitch > 0: the face tips down
    centre_y = lambda image: np.nonzero(face(image))[0].mean()  # noqa: E731
    assert centre_y(down) > centre_y(level) + 3


def test_face_shader_looks_like_pyrenders_stock_shader(monkeypatch, renderer):
    """The face shader (render/shaders) is pyrender's lighting model evaluated per vertex
    instead of per pixel, for speed: the picture must stay the same but for small highlights.
    Ours also differs there on purpose: its highlights stay at their usual strength under the
    brightened lights and are not tinted by the vertex colours (face/look.py). Ours reads the
    texture uploaded in linear light; pyrender's shader reads an sRGB one."""
    import pyrender
    from pyrender.shader_program import ShaderProgramCache

    import expressive_talker.render.renderer as module

    w = weights(jawOpen=0.6, mouthSmileLeft=0.8, eyeBlinkRight=1.0, browInnerUp=0.5)
    ours = renderer.render(renderer.rig.pose(w), w).astype(int)
    monkeypatch.setattr(module, "_LinearTexture", pyrender.Texture)
    pyrenders = FaceRenderer(256)
    try:
        monkeypatch.setattr(pyrenders._renderer._renderer, "_program_cache", ShaderProgramCache())
        stock = pyrenders.render(renderer.rig.pose(w), w).astype(int)
    finally:
        pyrenders.close()
    face = np.abs(stock - BG).sum(axis=2) > 10
    difference = np.abs(ours - stock).max(axis=2)[face]
    assert difference.mean() < 3.0  # levels of 255 (about 1 measured untextured, 2.5 textured)
    assert (difference > 8).mean() < 0.08  # about 1% untextured, 5.5% with the highlights kept


def broken_gl(monkeypatch, renderer):
    """Make the GL backend hand back black, empty buffers, as a broken driver does."""
    blank = lambda scene, *a, **k: (np.zeros((256, 256, 3), np.uint8), np.zeros((256, 256), np.float32))  # noqa: E731
    monkeypatch.setattr(renderer._renderer, "render", blank)


def test_broken_backend_raises_instead_of_writing_black_frames(monkeypatch, renderer):
    broken_gl(monkeypatch, renderer)
    with pytest.raises(RenderError, match="empty frame"):
        renderer.render(renderer.rig.neutral, np.zeros(52))


def test_size_is_bounded():
    with pytest.raises(ValueError):
        FaceRenderer(128)


def test_video_matches_audio_duration_and_carries_it(tmp_path, renderer):
    from expressive_talker.audio import load_audio

    wave = load_audio(write_tone(tmp_path / "a.wav", seconds=1.5))
    anim = Animation.from_weights(np.tile(weights(jawOpen=0.5), (20, 1)))  # shorter than the audio
    out = tmp_path / "out.mp4"
    frames = render_video([anim], wave, out, renderer=renderer)
    assert frames == 45
    count, has_audio, video = probe(out)
    assert count == 45 and has_audio
    assert "h264" in video and "yuv420p" in video and "256x256" in video


def test_side_by_side_has_one_labelled_panel_per_animation(tmp_path, renderer):
    from expressive_talker.audio import load_audio

    wave = load_audio(write_tone(tmp_path / "a.wav", seconds=0.5))
    rig = load_rig()
    w = weights(jawOpen=1.0)
    panels = [Animation.from_weights(np.zeros((15, 52))), Animation.from_weights(np.tile(w, (15, 1))), Animation.from_vertices(rig.pose(np.zeros((15, 52))))]
    out = tmp_path / "cmp.mp4"
    render_video(panels, wave, out, labels=["Ours", "ExpCLIP", "FaceFormer"], renderer=renderer)
    count, _, video = probe(out)
    assert count == 15 and "768x296" in video
    frame = read_frame(out, 5).astype(int)
    label_strip = frame[:40]
    assert (label_strip.sum(axis=2) < 300).any()  # dark label text above the panels
    first, second, third = (frame[40:, i * 256 : (i + 1) * 256] for i in range(3))
    assert np.abs(first - third).mean() < 2  # same pose, rendered from weights or from vertices
    assert np.abs(first - second).mean() > 2  # the open jaw differs


def test_failed_render_leaves_nothing_behind(tmp_path, monkeypatch, renderer):
    from expressive_talker.audio import load_audio

    wave = load_audio(write_tone(tmp_path / "a.wav", seconds=0.5))
    broken_gl(monkeypatch, renderer)
    out = tmp_path / "out.mp4"
    with pytest.raises(RenderError):
        render_video([Animation.from_weights(np.zeros((15, 52)))], wave, out, renderer=renderer)
    assert list(tmp_path.iterdir()) == [tmp_path / "a.wav"]


def test_encoding_runs_no_fork_handlers_so_a_matmul_elsewhere_cannot_freeze_the_app(tmp_path):
    """ffmpeg starts under vfork. Under fork() (imageio-ffmpeg's writer forces it with a
    preexec_fn), OpenBLAS's pre-fork handler can deadlock against a numpy matmul on another
    thread: the app froze when a prompt was read while a video was encoded."""
    import os
    import threading

    encoding = threading.get_ident()
    forks = []
    os.register_at_fork(before=lambda: forks.append(1) if threading.get_ident() == encoding else None)
    frames = [np.full((64, 96, 3), 40 * i, np.uint8) for i in range(5)]
    encode_mp4(frames, tmp_path / "out.mp4", 30, (96, 64))
    encoding = None
    assert forks == []
    decoded = video_frames(tmp_path / "out.mp4")
    assert decoded.shape == (5, 64, 96, 3)
    assert np.abs(decoded.mean(axis=(1, 2, 3)) - 40 * np.arange(5)).max() < 3


def test_a_frame_of_the_wrong_size_is_refused_and_nothing_is_kept(tmp_path):
    frames = [np.zeros((64, 96, 3), np.uint8), np.zeros((64, 64, 3), np.uint8)]
    with pytest.raises(ValueError, match="64x96x3"):
        encode_mp4(frames, tmp_path / "out.mp4", 30, (96, 64))
    assert list(tmp_path.iterdir()) == []


def test_bad_animations_are_input_errors():
    with pytest.raises(InputError, match="no frames"):
        Animation.from_weights(np.zeros((0, 52)))
    with pytest.raises(InputError, match="NaN"):
        Animation.from_weights(np.full((3, 52), np.nan))
    with pytest.raises(InputError, match="2694"):
        Animation.from_vertices(np.zeros((3, 100, 3)))


def _open_and_shared_edges(vertices, triangles):
    """(edges on one triangle, edges on more than two) of a mesh welded by position."""
    _, group = np.unique(vertices, axis=0, return_inverse=True)
    welded = group.ravel()[triangles]
    _, counts = np.unique(np.sort(welded[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), 1), axis=0, return_counts=True)
    return (counts == 1).sum(), (counts > 2).sum()


def test_the_drawn_head_is_subdivided_without_cracks():
    """The head the MP4 and the viewer draw: subdivided where it makes the outline, its seam
    copies and the border between subdivided and coarse triangles closed in any pose."""
    from expressive_talker.render.renderer import head_subdivision

    rig = load_rig()
    fine = head_subdivision(rig)
    assert len(fine.triangles) > 1.8 * len(rig.triangles)
    coarse_open, _ = _open_and_shared_edges(rig.neutral, rig.triangles)
    w = weights(jawOpen=0.7, mouthSmileLeft=1.0, browInnerUp=1.0, cheekPuff=0.6, eyeBlinkLeft=1.0)
    for posed in (rig.neutral, rig.pose(w)):
        fine_open, overshared = _open_and_shared_edges(fine(posed), fine.triangles)
        # Only the eyes, mouth and neck are open, as before, each open edge at most split in two.
        assert overshared == 0 and coarse_open <= fine_open <= 2 * coarse_open


def test_the_outline_is_smoother_than_the_mesh():
    """Where the skin turns away from the camera (its outline), neighbouring triangles of the
    drawn head meet at about half the angle the 2,694-vertex mesh's do: no visible corners."""
    from expressive_talker.render.renderer import camera_position, head_subdivision

    rig = load_rig()
    fine = head_subdivision(rig)
    camera = camera_position(rig)

    def outline_angles(v, t):
        v = v.astype(np.float64)
        normal = np.cross(v[t[:, 1]] - v[t[:, 0]], v[t[:, 2]] - v[t[:, 0]])
        normal /= np.linalg.norm(normal, axis=1, keepdims=True)
        front = np.einsum("ij,ij->i", normal, camera - v[t].mean(1)) > 0
        _, group = np.unique(v, axis=0, return_inverse=True)
        edges = np.sort(group.ravel()[t][:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2), 1)
        face = np.repeat(np.arange(len(t)), 3)
        order = np.lexsort((edges[:, 1], edges[:, 0]))
        edges, face = edges[order], face[order]
        pair = np.flatnonzero((edges[1:] == edges[:-1]).all(1))
        a, b = face[pair], face[pair + 1]
        outline = front[a] != front[b]
        return np.degrees(np.arccos(np.clip(np.einsum("ij,ij->i", normal[a], normal[b]), -1, 1)))[outline]

    coarse, drawn = np.median(outline_angles(rig.neutral, rig.triangles)), np.median(outline_angles(fine(rig.neutral), fine.triangles))
    assert drawn < 0.6 * coarse, (drawn, coarse)  # measured 19 degrees against 37
