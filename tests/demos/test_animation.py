"""The 2-D demos write training.gif: one frame per chosen step, boundary and loss curve side by side."""

import pytest

pytest.importorskip("matplotlib")
PIL = pytest.importorskip("PIL.Image", reason="the animation needs Pillow (pip install -e '.[demos]')")

from demos import animation, circles, moons, spiral  # noqa: E402


def test_frame_steps_start_at_one_end_at_the_last_and_crowd_the_start():
    assert animation.frame_steps(5) == [1, 2, 3, 4, 5]
    steps = animation.frame_steps(100)
    assert steps[0] == 1 and steps[-1] == 100 and len(steps) <= animation.FRAMES
    assert steps == sorted(set(steps)) and steps[1] - steps[0] < steps[-1] - steps[-2]


@pytest.mark.slow
@pytest.mark.parametrize("demo", [moons, circles, spiral])
def test_the_gif_has_one_frame_per_chosen_step(demo, tmp_path, capsys):
    result = demo.main(["--steps", "30", "--out", str(tmp_path), "--quiet"])
    gif = result["animation"]
    assert gif == tmp_path / "training.gif"
    with PIL.open(gif) as image:
        assert image.format == "GIF" and image.n_frames == len(animation.frame_steps(30))
        first = image.convert("RGB").tobytes()
        image.seek(image.n_frames - 1)
        assert image.convert("RGB").tobytes() != first  # the boundary and the curve moved
    assert f"({image.n_frames} frames)" in capsys.readouterr().out


def test_snapshots_leave_the_model_as_trained(tmp_path):
    import nn

    model = nn.MLP(2, [4, 1], seed=0)
    shots = animation.Snapshots(model.parameters(), 3)
    for step in (1, 2, 3):
        for p in model.parameters():
            p.data += 0.5
        shots.take(step)
    before = [p.data for p in model.parameters()]
    animation.write_gif("t", tmp_path, "t", model, shots, [1.0, 0.5, 0.25], [[0.0, 0.0], [1.0, 1.0]], [-1, 1])
    assert [p.data for p in model.parameters()] == before
    assert [s for s, _ in shots.taken] == [1, 2, 3] and shots.taken[0][1] != shots.taken[2][1]


@pytest.mark.slow
def test_no_animation_writes_no_gif_and_the_drawing_is_announced_otherwise(tmp_path, capsys):
    result = circles.main(["--steps", "3", "--out", str(tmp_path / "still"), "--quiet", "--no-animation"])
    assert result["animation"] is None and not (tmp_path / "still" / "training.gif").exists()
    assert "animation of the training" not in capsys.readouterr().out
    circles.main(["--steps", "3", "--out", str(tmp_path / "moving")])
    out = capsys.readouterr().out
    announced = out.index("drawing the animation of the training (3 frames)...")
    assert announced < out.index(f"animation of the training: {tmp_path / 'moving' / 'training.gif'} (3 frames)")
