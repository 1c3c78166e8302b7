"""Clip augmentations against hand-built scenes with known motion and brute-force loops."""
import numpy as np
import pytest
import torch

from mm_ssl.transforms.video import (ClipAugment, flow_scale, local_disturbance, reverse_clip,
                                     rotate_clip, shuffle_clip, speed_indices, temporal_shift)

VELOCITY = (1.5, -1.0)   # pixels per frame (x, y)


def texture(t: float, size: int = 48, velocity=VELOCITY) -> np.ndarray:
    """A smooth texture translating at ``velocity``, sampled exactly at (fractional) time t."""
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    x, y = xs - velocity[0] * t, ys - velocity[1] * t
    img = (128 + 50 * np.sin(x / 4 + 0.1 * y) + 40 * np.cos(y / 5 - x / 7)
           + 20 * np.sin((x + y) / 3.1))
    return np.clip(img, 0, 255)


def translating_clip(num_frames: int) -> torch.Tensor:
    frames = np.stack([texture(t) for t in range(num_frames)]).round().astype(np.uint8)
    return torch.from_numpy(frames)[None]                                # (1, T, H, W)


@pytest.mark.parametrize('phi', [0.5, 2.0])
def test_flow_scaling_moves_a_translation_by_phi_times_its_velocity(phi):
    clip = translating_clip(4)
    out = flow_scale(clip, phi)
    assert torch.equal(out[:, 0], clip[:, 0])
    for t in range(3):
        inner = (slice(8, -8),) * 2
        expected = texture(t + phi)[inner]            # I(x + phi V, t) = scene at time t + phi
        error = np.abs(out[0, t + 1].double().numpy()[inner] - expected).mean()
        unscaled = np.abs(clip[0, t + 1].double().numpy()[inner] - expected).mean()
        assert error < 1.0, error                     # grey levels, of a 0..255 texture
        assert unscaled > 10 * error                  # the unwarped frame is far off


def test_temporal_shift_of_a_translation_is_a_spatial_translation():
    v = (2, 1)                                        # whole pixels: np.roll is exact
    base = np.random.default_rng(0).integers(0, 256, (16, 16))
    clip = torch.from_numpy(np.stack([np.roll(base, (v[1] * t, v[0] * t), (0, 1))
                                      for t in range(8)]))[None, None]   # (1, 1, T, H, W)
    shifted = temporal_shift(clip, 3)
    for i in range(5):                                # x_{i+3} = x_i moved by 3 v
        expected = torch.roll(clip[0, 0, i], (3 * v[1], 3 * v[0]), (0, 1))
        assert torch.equal(shifted[0, 0, i], expected)


def test_temporal_shift_per_sample_matches_a_loop():
    clips = torch.randn(3, 2, 6, 4, 4)
    tau = torch.tensor([0, 2, -1])
    out = temporal_shift(clips, tau)
    for b in range(3):
        for i in range(6):
            j = min(max(i + int(tau[b]), 0), 5)
            assert torch.equal(out[b, :, i], clips[b, :, j])


def test_taco_reversal_and_rotation_are_exact():
    clips = torch.randn(4, 3, 8, 6, 6)
    yes = torch.ones(4, dtype=torch.bool)
    assert torch.equal(reverse_clip(reverse_clip(clips, yes), yes), clips)
    flags = torch.tensor([True, False, True, False])
    reversed_ = reverse_clip(clips, flags)
    for b in range(4):
        for t in range(8):
            assert torch.equal(reversed_[b, :, t], clips[b, :, 7 - t if flags[b] else t])
    k = torch.tensor([0, 1, 2, 3])
    assert torch.equal(rotate_clip(rotate_clip(clips, k), 4 - k), clips)
    once = torch.ones(4, dtype=torch.long)
    four = clips
    for _ in range(4):
        four = rotate_clip(four, once)
    assert torch.equal(four, clips)
    rotated = rotate_clip(clips, k)
    for b in range(4):                                # numpy's rot90 per frame as reference
        ref = np.rot90(clips[b].numpy(), int(k[b]), axes=(2, 3))
        assert np.array_equal(rotated[b].numpy(), ref)


def test_taco_shuffle_permutes_segments_and_never_returns_the_original_order():
    gen = torch.Generator().manual_seed(0)
    clips = torch.arange(8.).view(1, 1, 8, 1, 1).repeat(64, 1, 1, 1, 1)
    flags = torch.arange(64) % 2 == 0
    out, order = shuffle_clip(clips, flags, num_segments=4, generator=gen)
    identity = torch.arange(4)
    for b in range(64):
        frames = out[b, 0, :, 0, 0].long()
        assert sorted(frames.tolist()) == list(range(8))
        assert frames.tolist() == [2 * o + i for o in order[b].tolist() for i in range(2)]
        assert torch.equal(order[b], identity) != bool(flags[b])


def test_speed_indices():
    assert speed_indices(4, 3, 5).tolist() == [5, 8, 11, 14]
    got = speed_indices(3, torch.tensor([1, 2, 4]), torch.tensor([0, 1, 2]))
    assert got.tolist() == [[0, 1, 2], [1, 3, 5], [2, 6, 10]]


def test_clip_augment_uses_one_parameter_set_per_clip():
    gen = torch.Generator().manual_seed(0)
    frame = torch.randint(0, 256, (2, 3, 1, 20, 20), dtype=torch.uint8)
    clips = frame.expand(2, 3, 5, 20, 20).contiguous()                   # 5 identical frames
    augment = ClipAugment(num_views=2, size=12, scale=(0.2, 1.0), hflip_p=0.5, gray_p=0.3,
                          warp_p=1.0)
    views = augment(clips, generator=gen)
    assert len(views) == 2 and views[0].shape == (2, 3, 5, 12, 12)
    for v in views:
        for t in range(1, 5):
            assert torch.equal(v[:, :, t], v[:, :, 0])
    assert not torch.equal(views[0], views[1])


def test_local_disturbance_keeps_global_statistics_and_moves_pixels_locally():
    gen = torch.Generator().manual_seed(0)
    ramp = torch.arange(32.).view(1, 1, 1, 1, 32).expand(2, 1, 3, 32, 32)   # value = x coordinate
    same = local_disturbance(ramp, torch.zeros(2), generator=gen)
    assert torch.allclose(same, ramp, atol=1e-4)
    warped = local_disturbance(ramp, torch.full((2,), 0.1), generator=gen)
    # offsets up to 0.1 of the grid's [-1, 1] span = 0.1 * 32 px, bicubic overshoot aside
    assert (warped - ramp).abs().max() <= 0.1 * 32 * 1.3
    assert (warped - ramp).abs().mean() > 0.3
    assert torch.equal(warped[:, :, 1], warped[:, :, 0])          # one field for all frames
    assert abs(warped.mean() - ramp.mean()) < 1.0
