"""Actions: the I3D architecture, clip sampling, and per-shot probabilities broadcast to rows."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from muvi.data.schema import visual_feature_columns
from muvi.errors import WeightsError
from muvi.features import weights as wts
from muvi.features.actions import ActionsConfig, action_probabilities, clip_indices
from muvi.features.excerpt import ExcerptMedia
from muvi.features.nets.i3d import InceptionI3d
from muvi.features.registry import get
from muvi.features.shots import ShotConfig
from muvi.testing import build_test_weights


def test_full_size_i3d_matches_the_published_layer_shapes() -> None:
    """Inception-v1 widths (Szegedy et al. 2015, Table 1) inflated to 3-D."""
    state = InceptionI3d().state_dict()
    shapes = {
        "Conv3d_1a_7x7.conv3d.weight": (64, 3, 7, 7, 7),
        "Conv3d_2c_3x3.conv3d.weight": (192, 64, 3, 3, 3),
        "Mixed_3b.b1b.conv3d.weight": (128, 96, 3, 3, 3),
        "Mixed_4b.b0.conv3d.weight": (192, 480, 1, 1, 1),
        "Mixed_5c.b3b.conv3d.weight": (128, 832, 1, 1, 1),
        "logits.conv3d.weight": (400, 1024, 1, 1, 1),
        "logits.conv3d.bias": (400,),
    }
    for key, shape in shapes.items():
        assert tuple(state[key].shape) == shape, key
    assert "Conv3d_1a_7x7.conv3d.bias" not in state  # convolutions before BN have no bias
    assert (
        sum(v.numel() for k, v in state.items() if "running" not in k and "num_batches" not in k)
        > 12e6
    )


def test_same_padding_gives_the_published_feature_map() -> None:
    """64 frames at 224x224 end as an 8x7x7 map before the classifier."""
    net = InceptionI3d(width=1 / 16).eval()
    seen: dict[str, tuple[int, ...]] = {}

    def keep_shape(module: torch.nn.Module, inputs: object, output: torch.Tensor) -> None:
        seen["shape"] = tuple(output.shape)

    net.Mixed_5c.register_forward_hook(keep_shape)
    with torch.no_grad():
        net(torch.zeros(1, 3, 64, 224, 224))
    assert seen["shape"][2:] == (8, 7, 7)


def test_clip_indices() -> None:
    assert clip_indices(64, 32).tolist() == list(range(16, 48))
    short = clip_indices(5, 32)
    assert len(short) == 32 and set(short.tolist()) == set(range(5))
    assert np.all(np.diff(short) >= 0)


@pytest.fixture(scope="module")
def i3d_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("i3d")
    build_test_weights(folder, ["actions"])
    return folder


def test_per_shot_probabilities_are_broadcast_to_rows(cuts_video, i3d_dir: Path) -> None:  # type: ignore[no-untyped-def]
    times = np.arange(16) * 0.5  # 8 s of rows
    config = ActionsConfig(clip_frames=16, clip_size=112, shots=ShotConfig(threshold=15.0))
    out, scan = action_probabilities(cuts_video.path, times, weights_dir=i3d_dir, config=config)
    assert list(out.columns) == [c for c in visual_feature_columns() if c.startswith("actions__")]
    assert out.shape == (16, 400)
    np.testing.assert_allclose(out.sum(axis=1), 1.0, atol=1e-6)
    np.testing.assert_allclose(scan.cuts, [2.0, 4.0, 6.0], atol=1 / cuts_video.fps)
    values = out.to_numpy()
    for shot in range(4):  # rows 4k..4k+3 lie in shot k (2 s shots, 0.5 s rows)
        block = values[4 * shot : 4 * shot + 4]
        assert np.array_equal(block, np.repeat(block[:1], 4, axis=0))
    # different colours give different outputs, even from a random network
    assert not np.allclose(values[0], values[4]) and not np.allclose(values[8], values[12])


def test_registry_extractor_with_defaults(cuts_video, i3d_dir: Path) -> None:  # type: ignore[no-untyped-def]
    media = ExcerptMedia(
        "cuts", cuts_video.path, 1.0, 6.0, np.arange(12) * 0.5, weights_dir=i3d_dir
    )
    out = get("actions").extract(media)
    values = out.to_numpy()
    # default threshold: only the blue -> white cut (file 6.0 s, row time 5.0 s) is a shot boundary
    assert np.array_equal(values[:10], np.repeat(values[:1], 10, axis=0))
    assert np.array_equal(values[10], values[11]) and not np.allclose(values[9], values[10])


def test_probabilities_are_the_softmax_of_the_loaded_classifier(cuts_video, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    net = InceptionI3d(width=1 / 16)
    bias = np.random.default_rng(4).normal(0, 1.5, 400)
    with torch.no_grad():
        net.logits.conv3d.weight.zero_()
        net.logits.conv3d.bias.copy_(torch.from_numpy(bias))
    # as saved by old PyTorch: no BatchNorm counters
    state = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    path = tmp_path / "rgb_imagenet.pt"
    torch.save(state, path)
    wts.register_weights_file(
        path,
        name="i3d-kinetics400",
        family="actions",
        architecture="i3d-inception-v1",
        config={"width": 1 / 16},
    )
    config = ActionsConfig(clip_frames=8, clip_size=64)
    out, _ = action_probabilities(
        cuts_video.path, np.arange(4) * 0.5, weights_dir=tmp_path, config=config
    )
    expected = np.exp(bias - bias.max()) / np.exp(bias - bias.max()).sum()
    for row in out.to_numpy():
        np.testing.assert_allclose(row, expected, atol=1e-6)


def test_missing_i3d_weights(cuts_video, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(WeightsError, match="muvi weights fetch i3d-kinetics400"):
        action_probabilities(cuts_video.path, np.arange(4) * 0.5, weights_dir=tmp_path)


def test_fused_i3d_equals_the_checkpoint_network() -> None:
    """Batch norm folded into the convolutions computes the same logits."""
    torch.manual_seed(5)
    net = InceptionI3d(width=1 / 16)
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.BatchNorm3d):
                module.running_mean.uniform_(-0.2, 0.2)
                module.running_var.uniform_(0.5, 2.0)
                module.weight.uniform_(0.5, 1.5)
                module.bias.uniform_(-0.2, 0.2)
    net.eval()
    x = torch.rand(2, 3, 8, 64, 64) * 2 - 1
    with torch.no_grad():
        before = net(x)
        fused = net.fuse_batch_norm()
        assert all(m.bn is None for m in fused.modules() if hasattr(m, "bn"))
        np.testing.assert_allclose(fused(x).numpy(), before.numpy(), rtol=1e-4, atol=1e-4)
    with pytest.raises(RuntimeError, match="eval mode"):
        InceptionI3d(width=1 / 16).fuse_batch_norm()


def test_clip_frames_are_the_scanned_frames(cuts_video) -> None:  # type: ignore[no-untyped-def]
    """The second pass converts exactly the frames the scan timed, and only those."""
    import av

    from muvi.features.actions import _clip_image, read_clip_frames

    start = 1.0
    wanted = np.array([0.0, 0.04, 2.48, 4.0, 4.0])  # as the scan times them (from start)
    got = read_clip_frames(cuts_video.path, start, wanted, 32)
    assert sorted(got) == [0.0, 0.04, 2.48, 4.0]
    with av.open(str(cuts_video.path)) as container:
        reference = {
            round(float(f.time) - start, 6): _clip_image(f, 32)
            for f in container.decode(video=0)
            if f.time is not None and abs(f.time - start - 2.48) < 1e-3
        }
    assert np.array_equal(got[2.48], reference[2.48])
    assert got[2.48].shape == (32, 32, 3)
    # different shots of the cut video have different colours
    assert not np.array_equal(got[0.0], got[4.0])
