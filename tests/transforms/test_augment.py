"""mm_ssl.transforms.multiview against torchvision's own functional ops, plus sampling statistics.

Tolerance: torchvision works on uint8 and truncates (``tensor.to(uint8)``) after each op and its
native uint8 bilinear resize uses fixed-point weights, while we compute in float32 and round once,
so a single op may differ by 1 uint8 level (never more: both sides compute the same real value).
"""
import pytest
import torch
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from mm_ssl.registry import TRANSFORMS
from mm_ssl.transforms import (MultiViewAugment, ViewAugment, adjust_brightness, adjust_contrast,
                               adjust_hue, adjust_saturation, gaussian_blur, resized_crop,
                               rgb_to_grayscale, sample_crop_boxes, solarize)

OFF = dict(hflip_p=0.0, jitter_p=0.0, gray_p=0.0, blur_p=0.0, solarize_p=0.0)


def rand_images(*shape, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, shape, dtype=torch.uint8, generator=g)


def to_u8(x):
    return x.round().clamp(0, 255).to(torch.uint8)


def assert_close_u8(a, b, tol=1):
    assert a.shape == b.shape and a.dtype == b.dtype == torch.uint8
    assert (a.int() - b.int()).abs().max().item() <= tol


def test_resized_crop_and_flip_match_torchvision():
    img = rand_images(3, 3, 40, 50)
    # down-scaling, up-scaling (crop smaller than output) and a non-square box at the edge
    boxes = torch.tensor([[2., 5., 30, 40], [10., 20., 12, 9], [0., 0., 40, 50],
                          [15., 3., 25, 47], [0., 41., 7, 9], [33., 0., 7, 50]])
    flip = torch.tensor([False, True, False, True, False, True])
    out = to_u8(resized_crop(img.float(), boxes, 24, flip))  # 2 views per image, view-major
    for r, ((t, l, h, w), f) in enumerate(zip(boxes.long().tolist(), flip.tolist())):
        ref = TF.resized_crop(img[r % 3], t, l, h, w, [24, 24], InterpolationMode.BILINEAR,
                              antialias=False)
        assert_close_u8(out[r], TF.horizontal_flip(ref) if f else ref)


@pytest.mark.parametrize('op, ref, factors', [
    (adjust_brightness, TF.adjust_brightness, [0.6, 1.0, 1.4, 0.0]),
    (adjust_contrast, TF.adjust_contrast, [0.6, 1.0, 1.4, 0.0]),
    (adjust_saturation, TF.adjust_saturation, [0.6, 1.0, 1.4, 0.0]),
    (adjust_hue, TF.adjust_hue, [-0.1, 0.0, 0.1, 0.5]),
])
@pytest.mark.parametrize('channels', [3, 1])
def test_colour_ops_match_torchvision(op, ref, factors, channels):
    img = rand_images(4, channels, 20, 30)
    out = to_u8(op(img.float(), torch.tensor(factors)))
    for i, f in enumerate(factors):
        assert_close_u8(out[i], ref(img[i], f))
        if f == 1.0 and op is not adjust_hue:
            assert torch.equal(out[i], img[i])  # factor 1 is exactly the identity


def test_grayscale_matches_torchvision():
    img = rand_images(4, 3, 20, 30)
    out = to_u8(rgb_to_grayscale(img.float()).expand(-1, 3, -1, -1))
    for i in range(4):
        assert_close_u8(out[i], TF.rgb_to_grayscale(img[i], num_output_channels=3))
    one = rand_images(2, 1, 8, 8)
    assert torch.equal(to_u8(rgb_to_grayscale(one.float())), one)


@pytest.mark.parametrize('kernel_size', [3, 5])
def test_gaussian_blur_matches_torchvision(kernel_size):
    img = rand_images(4, 3, 20, 30)
    sigma = torch.tensor([0.1, 0.5, 1.0, 2.0])
    out = to_u8(gaussian_blur(img.float(), sigma, kernel_size))
    for i, s in enumerate(sigma.tolist()):
        assert_close_u8(out[i], TF.gaussian_blur(img[i], [kernel_size, kernel_size], [s, s]))


def test_solarize_matches_torchvision_exactly():
    img = rand_images(2, 3, 20, 30)
    assert torch.equal(to_u8(solarize(img.float())), TF.solarize(img, 128))


def all_on_params(aug, n, H, W, order):
    p = aug.sample_params(n, H, W, torch.Generator().manual_seed(1))
    for k in ('flip', 'jitter', 'gray', 'blur', 'solarize'):
        p[k] = torch.ones(n, dtype=torch.bool)
    p['order'] = torch.tensor(order)
    return p


def test_pipeline_matches_chain_of_torchvision_ops():
    aug = ViewAugment(size=24, gray_p=1.0, jitter_p=1.0, blur_p=1.0, solarize_p=1.0, hflip_p=1.0)
    img = rand_images(4, 3, 40, 40)
    p = all_on_params(aug, 4, 40, 40, order=[2, 0, 3, 1])
    p['gray'][::2] = False  # grayscale would hide saturation and hue errors: keep it on half
    out = aug.apply(img, p)
    tv_jitter = [TF.adjust_brightness, TF.adjust_contrast, TF.adjust_saturation, TF.adjust_hue]
    for i in range(4):
        # torchvision on float images in [0, 1] so that it does not truncate between ops (on
        # uint8 the 8 truncations drift ~2 levels); left with the final rounding and the luma
        # weight 0.2989 vs 0.299
        t, l, h, w = p['box'][i].long().tolist()
        x = TF.horizontal_flip(TF.resized_crop(img[i] / 255, t, l, h, w, [24, 24], antialias=False))
        for j in (2, 0, 3, 1):
            x = tv_jitter[j](x, p['factors'][i, j].item())
        if p['gray'][i]:
            x = TF.rgb_to_grayscale(x, num_output_channels=3)
        s = p['sigma'][i].item()
        x = TF.solarize(TF.gaussian_blur(x, [aug.kernel_size] * 2, [s, s]), 128 / 255)
        assert_close_u8(out[i], to_u8(x * 255))


def test_per_sample_equals_batched_row():
    aug = ViewAugment(size=16, gray_p=0.5, solarize_p=0.5)
    img = rand_images(6, 3, 24, 20)
    p = aug.sample_params(6, 24, 20, torch.Generator().manual_seed(3))
    batched = aug.apply(img, p)
    for i in range(6):
        p_i = {k: v if k == 'order' else v[i:i + 1] for k, v in p.items()}
        assert torch.equal(aug.apply(img[i:i + 1], p_i)[0], batched[i])


def test_crop_sampling_follows_scale_and_ratio():
    scale, ratio, H, W = (0.08, 0.5), (3 / 4, 4 / 3), 512, 512  # scale < 0.56: never falls back
    top, left, h, w = sample_crop_boxes(20000, H, W, scale, ratio,
                                        torch.Generator().manual_seed(0)).unbind(1)
    frac, aspect = h * w / (H * W), w / h
    # h and w are rounded to whole pixels, which moves area and ratio by < 1% at these sizes
    assert frac.min() >= scale[0] * 0.99 and frac.max() <= scale[1] * 1.01
    assert aspect.min() >= ratio[0] * 0.99 and aspect.max() <= ratio[1] * 1.01
    assert abs(torch.log(aspect).mean().item()) < 0.01  # log-uniform: symmetric around ratio 1
    assert abs(frac.mean().item() - sum(scale) / 2) < 0.01
    assert (top >= 0).all() and (left >= 0).all() and (top + h <= H).all() and (left + w <= W).all()
    assert top.max() > 0.9 * (H - h).max()  # positions span the whole image
    # an unreachable scale falls back to the centre crop with the ratio clamped into range
    box = sample_crop_boxes(5, 30, 60, scale=(2.0, 3.0), ratio=(1.0, 1.5))
    assert box.tolist() == [[0.0, 7.0, 30.0, 45.0]] * 5


def test_coin_frequencies_match_probabilities():
    probs = dict(flip=0.5, jitter=0.8, gray=0.2, blur=0.3, solarize=0.1)
    aug = ViewAugment(size=8, hflip_p=probs['flip'], jitter_p=probs['jitter'],
                      gray_p=probs['gray'], blur_p=probs['blur'], solarize_p=probs['solarize'])
    p = aug.sample_params(20000, 8, 8, torch.Generator().manual_seed(0))
    for k, prob in probs.items():
        assert abs(p[k].float().mean().item() - prob) < 0.015  # > 4 standard deviations
    f = p['factors']
    assert f[:, 0].min() >= 0.6 and f[:, 0].max() <= 1.4 and f[:, 3].abs().max() <= 0.1
    assert f[:, 0].max() > 1.39 and p['sigma'].min() >= 0.1 and p['sigma'].max() <= 2.0


def test_forced_flip_mirrors_output():
    img = rand_images(4, 3, 16, 16)
    plain = ViewAugment(size=16, scale=(1, 1), ratio=(1, 1), **OFF)
    flip = ViewAugment(size=16, scale=(1, 1), ratio=(1, 1), **{**OFF, 'hflip_p': 1.0})
    assert torch.equal(flip(img), TF.horizontal_flip(img))
    assert torch.equal(plain(img), img)


@pytest.mark.parametrize('shape', [(5, 3, 32, 32), (3, 32, 32), (2, 1, 24, 24)])
def test_all_off_is_identity(shape):
    img = rand_images(*shape)
    aug = ViewAugment(size=shape[-1], scale=(1.0, 1.0), ratio=(1.0, 1.0), **OFF)
    assert torch.equal(aug(img), img)


def test_seeds_reproduce_and_differ():
    mv = MultiViewAugment(views=[dict(num=2, size=32, scale=(0.14, 1.0), solarize_p=0.2)])
    img = rand_images(8, 3, 32, 32)
    a = mv(img, torch.Generator().manual_seed(7))
    b = mv(img, torch.Generator().manual_seed(7))
    c = mv(img, torch.Generator().manual_seed(8))
    assert all(torch.equal(x, y) for x, y in zip(a, b))
    assert not any(torch.equal(x, y) for x, y in zip(a, c))
    assert not torch.equal(a[0], a[1])  # the two views are sampled independently
    torch.manual_seed(0)
    d = mv(img)
    torch.manual_seed(0)
    assert all(torch.equal(x, y) for x, y in zip(d, mv(img)))  # None: the global RNG


def test_multicrop_shapes_and_dtype():
    mv = MultiViewAugment(views=[dict(num=2, size=32, scale=(0.14, 1.0)),
                                 dict(num=6, size=16, scale=(0.05, 0.14))])
    views = mv(rand_images(4, 3, 40, 48), torch.Generator().manual_seed(0))
    assert [v.shape for v in views] == [(4, 3, 32, 32)] * 2 + [(4, 3, 16, 16)] * 6
    assert all(v.dtype == torch.uint8 for v in views)
    locals_ = torch.stack(views[2:])
    assert all(not torch.equal(locals_[0], v) for v in locals_[1:])
    # per-sample mode: any H, W, and C=1
    for shape in [(3, 50, 37), (1, 20, 64)]:
        views = mv(rand_images(*shape))
        assert [v.shape for v in views] == [(shape[0], 32, 32)] * 2 + [(shape[0], 16, 16)] * 6


def test_byol_pair_and_registry_build():
    mv = TRANSFORMS.build(dict(type='MultiViewAugment', views=[
        dict(num=1, size=32, blur_p=1.0), dict(num=1, size=32, blur_p=0.1, solarize_p=0.2)]))
    (a, ga), (b, gb) = mv.groups
    assert (a, b) == (1, 1) and ga.probs['blur'] == 1.0 and gb.probs['solarize'] == 0.2
    assert len(mv(rand_images(2, 3, 32, 32))) == 2
    assert isinstance(TRANSFORMS.build(dict(type='ViewAugment', size=8)), ViewAugment)


def test_uint8_required():
    with pytest.raises(TypeError):
        ViewAugment(size=8)(torch.zeros(1, 3, 8, 8))


@pytest.mark.skipif(not torch.cuda.is_available(), reason='needs CUDA')
def test_cuda_images_with_cpu_generator_match_cpu():
    mv = MultiViewAugment(views=[dict(num=2, size=32, solarize_p=0.2)])
    img = rand_images(16, 3, 40, 40)
    cpu = mv(img, torch.Generator().manual_seed(0))
    gpu = mv(img.cuda(), torch.Generator().manual_seed(0))
    for x, y in zip(cpu, gpu):
        assert y.is_cuda
        assert_close_u8(x, y.cpu(), tol=2)
